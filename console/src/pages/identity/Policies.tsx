// #/identity/policies: managed policies (the built-in canned ones and the custom ones):
// list, view the JSON, create from JSON (checked before sending; the server's
// MalformedPolicy message shown), delete (a policy in use is refused by the server).
//
// Test ids: policies-create, policy-name, policy-doc, policy-create-submit,
// policy-create-error, policy-row-<name>, policy-view-<name>, policy-delete-<name>,
// policy-json (the viewer).
import { useState } from 'react';
import { CANNED, addPolicy, listPolicies, removePolicy } from '../../api/iam';
import { checkPolicy } from '../kit/json';
import { ConfirmButton, ErrorBox, Modal, NoPermission, useLoad } from '../kit/ui';

const EXAMPLE = JSON.stringify(
  {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: ['arn:aws:s3:::my-bucket/team/*'],
      },
    ],
  },
  null,
  2,
);

function statements(doc: unknown): number {
  const st = (doc as { Statement?: unknown })?.Statement;
  return Array.isArray(st) ? st.length : st ? 1 : 0;
}

function CreatePolicy(props: { onClose: () => void; onSaved: () => void; taken: string[] }) {
  const [name, setName] = useState('');
  const [doc, setDoc] = useState(EXAMPLE);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setError(null);
    if (!/^[A-Za-z0-9_.+=,@-]{1,128}$/.test(name)) return setError('The name is 1 to 128 letters, digits and _ . + = , @ -');
    if (props.taken.includes(name)) return setError(`A policy named "${name}" exists already.`);
    const p = checkPolicy(doc);
    if (p) return setError(p.message);
    setBusy(true);
    try {
      await addPolicy(name, doc);
      props.onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      wide
      title="Create policy"
      onClose={props.onClose}
      testId="policy-create-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" data-testid="policy-create-submit" disabled={busy} onClick={submit}>
            {busy ? 'Saving…' : 'Create policy'}
          </button>
        </>
      }
    >
      <label className="field">
        <span>Name</span>
        <input autoFocus data-testid="policy-name" value={name} onChange={(ev) => setName(ev.target.value.trim())} placeholder="team-read-write" />
      </label>
      <label className="field">
        <span>Policy document (JSON)</span>
        <textarea data-testid="policy-doc" rows={16} spellCheck={false} value={doc} onChange={(ev) => setDoc(ev.target.value)} />
      </label>
      <ErrorBox error={error} testId="policy-create-error" />
    </Modal>
  );
}

export default function Policies() {
  const list = useLoad(listPolicies, []);
  const [creating, setCreating] = useState(false);
  const [viewing, setViewing] = useState<string | null>(null);
  if (list.denied) return <NoPermission what="manage policies" />;
  const entries = Object.entries(list.data ?? {}).sort(([a], [b]) => {
    const ca = CANNED.includes(a) ? 0 : 1;
    const cb = CANNED.includes(b) ? 0 : 1;
    return ca - cb || a.localeCompare(b);
  });
  return (
    <div className="page" data-testid="policies-page">
      <div className="page-head">
        <div>
          <h1>Policies</h1>
          <p className="muted">Identity policies attach to users and groups by name.</p>
        </div>
        <div className="actions">
          <button type="button" className="btn" onClick={() => void list.reload()}>
            Refresh
          </button>
          <button type="button" className="btn btn-primary" data-testid="policies-create" onClick={() => setCreating(true)}>
            + Create policy
          </button>
        </div>
      </div>
      <ErrorBox error={list.error} />
      <div className="card">
        <table className="table" data-testid="policies-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Statements</th>
              <th className="c2-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([name, doc]) => {
              const builtIn = CANNED.includes(name) || name.startsWith('Amazon') || name.startsWith('IAM');
              return (
                <tr key={name} data-testid={`policy-row-${name}`}>
                  <td className="c2-strong">{name}</td>
                  <td>{builtIn ? <span className="badge badge-off">built-in</span> : <span className="badge badge-accent">custom</span>}</td>
                  <td className="muted">{statements(doc)}</td>
                  <td className="c2-right c2-nowrap">
                    <button type="button" className="btn btn-sm" data-testid={`policy-view-${name}`} onClick={() => setViewing(name)}>
                      View JSON
                    </button>{' '}
                    {!builtIn && (
                      <ConfirmButton
                        label="Delete"
                        testId={`policy-delete-${name}`}
                        confirm={`Delete policy "${name}"? A policy still attached to a user or group is refused.`}
                        onConfirm={async () => {
                          await removePolicy(name);
                          await list.reload();
                        }}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {creating && (
        <CreatePolicy
          taken={entries.map(([n]) => n)}
          onClose={() => setCreating(false)}
          onSaved={() => {
            setCreating(false);
            void list.reload();
          }}
        />
      )}
      {viewing && list.data && (
        <Modal wide title={`Policy ${viewing}`} onClose={() => setViewing(null)} testId="policy-view-dialog">
          <pre className="c2-json" data-testid="policy-json">
            {JSON.stringify(list.data[viewing], null, 2)}
          </pre>
        </Modal>
      )}
    </div>
  );
}
