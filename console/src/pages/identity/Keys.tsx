// #/identity/keys[/<user>]: access keys (MinIO service accounts) of the logged-in user or,
// for an administrator, of a chosen user: list, create (optionally narrowed by a policy,
// with an expiry), disable/enable, delete. The new secret is shown once.
//
// Test ids: keys-user (the user picker), keys-create, key-name, key-description,
// key-policy, key-expiry, key-create-submit, key-create-error, key-created,
// created-access-key, created-secret-key, created-close, key-row-<accessKey>,
// key-toggle-<accessKey>, key-delete-<accessKey>.
import { useState } from 'react';
import { addServiceAccount, deleteServiceAccount, listServiceAccounts, listUsers, setServiceAccountStatus } from '../../api/iam';
import { checkPolicy } from '../kit/json';
import { ConfirmButton, CredentialsModal, ErrorBox, Modal, NoPermission, StatusPill, formatDate, useLoad } from '../kit/ui';
import { getSession } from '../../session';
import { navigate } from '../../router';

function CreateKey(props: { user: string; onClose: () => void; onCreated: (ak: string, sk: string) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [policy, setPolicy] = useState('');
  const [expiry, setExpiry] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setError(null);
    if (policy.trim()) {
      const p = checkPolicy(policy);
      if (p) return setError(p.message);
    }
    let expiration: string | undefined;
    if (expiry) {
      const t = new Date(expiry);
      if (Number.isNaN(t.getTime()) || t.getTime() <= Date.now()) return setError('The expiry must be in the future.');
      expiration = t.toISOString();
    }
    setBusy(true);
    try {
      const c = await addServiceAccount({ targetUser: props.user, name, description, policy, expiration });
      props.onCreated(c.accessKey, c.secretKey);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      wide
      title={`New access key${props.user ? ` for ${props.user}` : ''}`}
      onClose={props.onClose}
      testId="key-create-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" data-testid="key-create-submit" disabled={busy} onClick={submit}>
            {busy ? 'Creating…' : 'Create access key'}
          </button>
        </>
      }
    >
      <div className="c2-grid2">
        <label className="field">
          <span>Name</span>
          <input data-testid="key-name" value={name} onChange={(ev) => setName(ev.target.value)} placeholder="backup-job" />
        </label>
        <label className="field">
          <span>Expires (optional)</span>
          <input data-testid="key-expiry" type="datetime-local" value={expiry} onChange={(ev) => setExpiry(ev.target.value)} />
        </label>
      </div>
      <label className="field">
        <span>Description</span>
        <input data-testid="key-description" value={description} onChange={(ev) => setDescription(ev.target.value)} />
      </label>
      <label className="field">
        <span>Narrowing policy (optional JSON; empty: the user's own rights)</span>
        <textarea data-testid="key-policy" rows={8} spellCheck={false} value={policy} onChange={(ev) => setPolicy(ev.target.value)} />
      </label>
      <ErrorBox error={error} testId="key-create-error" />
    </Modal>
  );
}

export default function Keys(props: { user?: string }) {
  const me = getSession()?.user ?? '';
  const user = props.user ?? '';
  const keys = useLoad(() => listServiceAccounts(user), [user]);
  // Only an administrator may list users (and so pick another user's keys).
  const users = useLoad(async () => Object.keys(await listUsers()).sort(), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ ak: string; sk: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (keys.denied) return <NoPermission what={user ? `manage the access keys of ${user}` : 'manage access keys'} />;
  return (
    <div className="page" data-testid="keys-page">
      <div className="page-head">
        <div>
          <h1>Access keys</h1>
          <p className="muted">Extra keys for programs, with the user's rights or fewer; each can be disabled or deleted on its own.</p>
        </div>
        <div className="actions">
          {users.data && (
            <label className="field c2-inline">
              <select data-testid="keys-user" aria-label="User" value={user} onChange={(ev) => navigate(ev.target.value ? `/identity/keys/${encodeURIComponent(ev.target.value)}` : '/identity/keys')}>
                <option value="">{me ? `${me} (you)` : 'you'}</option>
                {users.data.filter((u) => u !== me).map((u) => (
                  <option key={u} value={u}>
                    {u}
                  </option>
                ))}
              </select>
            </label>
          )}
          <button type="button" className="btn btn-primary" data-testid="keys-create" onClick={() => setCreating(true)}>
            + Create access key
          </button>
        </div>
      </div>
      <ErrorBox error={keys.error ?? error} />
      <div className="card">
        <table className="table" data-testid="keys-table">
          <thead>
            <tr>
              <th>Access key</th>
              <th>Name</th>
              <th>Status</th>
              <th>Policy</th>
              <th>Expires</th>
              <th className="c2-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.map((k) => {
              const ak = k.accessKey ?? '';
              return (
                <tr key={ak} data-testid={`key-row-${ak}`}>
                  <td className="mono">{ak}</td>
                  <td>
                    {k.name || <span className="muted">—</span>}
                    {k.description && <div className="muted small">{k.description}</div>}
                  </td>
                  <td>
                    <StatusPill on={k.accountStatus === 'on'} />
                  </td>
                  <td>{k.impliedPolicy ? <span className="muted">the user's</span> : <span className="badge badge-accent">narrowed</span>}</td>
                  <td className="muted">{k.expiration ? formatDate(k.expiration) : 'never'}</td>
                  <td className="c2-right c2-nowrap">
                    <button
                      type="button"
                      className="btn btn-sm"
                      data-testid={`key-toggle-${ak}`}
                      onClick={async () => {
                        setError(null);
                        try {
                          await setServiceAccountStatus(ak, k.accountStatus !== 'on');
                          await keys.reload();
                        } catch (e) {
                          setError(e);
                        }
                      }}
                    >
                      {k.accountStatus === 'on' ? 'Disable' : 'Enable'}
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      testId={`key-delete-${ak}`}
                      confirm={`Delete access key ${ak}? Programs using it lose access at once.`}
                      onConfirm={async () => {
                        await deleteServiceAccount(ak);
                        await keys.reload();
                      }}
                    />
                  </td>
                </tr>
              );
            })}
            {keys.data && keys.data.length === 0 && (
              <tr>
                <td colSpan={6} className="c2-empty">
                  No access keys yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {creating && (
        <CreateKey
          user={user}
          onClose={() => setCreating(false)}
          onCreated={(ak, sk) => {
            setCreating(false);
            setCreated({ ak, sk });
            void keys.reload();
          }}
        />
      )}
      {created && <CredentialsModal title="Access key created" testId="key-created" accessKey={created.ak} secretKey={created.sk} onClose={() => setCreated(null)} />}
    </div>
  );
}
