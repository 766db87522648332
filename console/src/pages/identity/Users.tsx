// #/identity/users: users (list, create with policies, enable/disable, change policies,
// delete), through MinIO's admin API (src/api/iam.ts says why that API).
//
// Test ids for Playwright — the "create a user with the readonly policy" flow:
//   1. click            [data-testid=users-create]
//   2. fill             [data-testid=user-access-key]   (the new user's access key = its name)
//   3. fill             [data-testid=user-secret-key]   (prefilled with a random secret; at least 8 characters)
//   4. check            [data-testid=user-policy-readonly]   (one checkbox per policy: user-policy-<name>)
//   5. click            [data-testid=user-create-submit]
//   6. the credentials dialog [data-testid=user-created] shows them once:
//      [data-testid=created-access-key] and [data-testid=created-secret-key] (inputs; "-copy" buttons copy)
//   7. click            [data-testid=created-close]
//   The user's row is [data-testid=user-row-<accessKey>], its policies
//   [data-testid=user-policies-<accessKey>], status [data-testid=user-status-<accessKey>];
//   row buttons user-toggle-<accessKey>, user-edit-<accessKey>, user-delete-<accessKey>
//   (then [data-testid=confirm-yes]). Errors: [data-testid=user-create-error].
import { useState } from 'react';
import { CANNED, addUser, listPolicies, listUsers, removeUser, setPolicies, setUserStatus, type UserInfo } from '../../api/iam';
import { CheckList, ConfirmButton, CredentialsModal, ErrorBox, Modal, NoPermission, StatusPill, randomSecret, useLoad } from '../kit/ui';

async function policyNames(): Promise<string[]> {
  try {
    const all = Object.keys(await listPolicies());
    const custom = all.filter((p) => !CANNED.includes(p)).sort();
    return [...CANNED.filter((c) => all.includes(c)), ...custom];
  } catch {
    return CANNED.slice(0, 4);
  }
}

function PolicyChecks(props: { all: string[]; chosen: string[]; onChange: (p: string[]) => void; prefix: string }) {
  return <CheckList {...props} label="Policies" empty="No policies." />;
}

const KEY_RE = /^[A-Za-z0-9_.@=,+-]{3,128}$/;

function CreateUser(props: { policies: string[]; onClose: () => void; onCreated: (ak: string, sk: string) => void }) {
  const [ak, setAk] = useState('');
  const [sk, setSk] = useState(() => randomSecret(32));
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    if (!KEY_RE.test(ak)) return setError('The access key is 3 to 128 characters: letters, digits and _ . @ = , + -');
    if (sk.length < 8 || sk.length > 40) return setError('The secret key is 8 to 40 characters.');
    setBusy(true);
    setError(null);
    try {
      await addUser(ak, sk, chosen);
      props.onCreated(ak, sk);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Create user"
      onClose={props.onClose}
      testId="user-create-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" data-testid="user-create-submit" disabled={busy} onClick={submit}>
            {busy ? 'Creating…' : 'Create user'}
          </button>
        </>
      }
    >
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          void submit();
        }}
      >
        <label className="field">
          <span>Access key (the user name)</span>
          <input autoFocus data-testid="user-access-key" aria-label="Access key" value={ak} onChange={(ev) => setAk(ev.target.value.trim())} placeholder="alice" />
        </label>
        <label className="field">
          <span>Secret key</span>
          <div className="c2-copy">
            <input data-testid="user-secret-key" aria-label="Secret key" value={sk} onChange={(ev) => setSk(ev.target.value)} />
            <button type="button" className="btn btn-sm" onClick={() => setSk(randomSecret(32))}>
              Generate
            </button>
          </div>
        </label>
        <div className="field">
          <span>Policies</span>
          <PolicyChecks all={props.policies} chosen={chosen} onChange={setChosen} prefix="user-policy" />
        </div>
        <ErrorBox error={error} testId="user-create-error" />
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}

function EditPolicies(props: { user: string; current: string[]; all: string[]; onClose: () => void; onSaved: () => void }) {
  const [chosen, setChosen] = useState(props.current);
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal
      title={`Policies of ${props.user}`}
      onClose={props.onClose}
      testId="user-policies-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn-primary"
            data-testid="user-policies-save"
            onClick={async () => {
              try {
                await setPolicies(props.user, chosen, false);
                props.onSaved();
              } catch (e) {
                setError(e);
              }
            }}
          >
            Save
          </button>
        </>
      }
    >
      <PolicyChecks all={props.all} chosen={chosen} onChange={setChosen} prefix="edit-policy" />
      <ErrorBox error={error} />
    </Modal>
  );
}

export default function Users() {
  const users = useLoad(listUsers, []);
  const policies = useLoad(policyNames, []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ ak: string; sk: string } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (users.denied) return <NoPermission what="manage users" />;
  const rows = Object.entries(users.data ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const pols = (u: UserInfo) => (u.policyName ? u.policyName.split(',').filter(Boolean) : []);
  const act = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
      await users.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="page" data-testid="users-page">
      <div className="page-head">
        <div>
          <h1>Users</h1>
          <p className="muted">Each user signs with its access key and secret key; its policies say what it may do.</p>
        </div>
        <div className="actions">
          <button type="button" className="btn" onClick={() => void users.reload()}>
            Refresh
          </button>
          <button type="button" className="btn btn-primary" data-testid="users-create" onClick={() => setCreating(true)}>
            + Create user
          </button>
        </div>
      </div>
      <ErrorBox error={users.error ?? error} />
      <div className="card">
        <table className="table" data-testid="users-table">
          <thead>
            <tr>
              <th>Access key</th>
              <th>Status</th>
              <th>Policies</th>
              <th>Groups</th>
              <th className="c2-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([ak, u]) => (
              <tr key={ak} data-testid={`user-row-${ak}`}>
                <td className="c2-strong">{ak}</td>
                <td>
                  <StatusPill on={u.status === 'enabled'} testId={`user-status-${ak}`} />
                </td>
                <td data-testid={`user-policies-${ak}`}>
                  {pols(u).length ? pols(u).map((p) => <span key={p} className="badge badge-accent" style={{ marginRight: 4 }}>{p}</span>) : <span className="muted">none</span>}
                </td>
                <td className="muted">{u.memberOf?.join(', ') || '—'}</td>
                <td className="c2-right c2-nowrap">
                  <button type="button" className="btn btn-sm" data-testid={`user-edit-${ak}`} onClick={() => setEditing(ak)}>
                    Policies
                  </button>{' '}
                  <button
                    type="button"
                    className="btn btn-sm"
                    data-testid={`user-toggle-${ak}`}
                    onClick={() => act(() => setUserStatus(ak, u.status !== 'enabled'))}
                  >
                    {u.status === 'enabled' ? 'Disable' : 'Enable'}
                  </button>{' '}
                  <a className="btn btn-sm" href={`#/identity/keys/${encodeURIComponent(ak)}`}>
                    Keys
                  </a>{' '}
                  <ConfirmButton
                    label="Delete"
                    testId={`user-delete-${ak}`}
                    confirm={`Delete user "${ak}"? Its access keys stop working at once.`}
                    onConfirm={async () => {
                      await removeUser(ak);
                      await users.reload();
                    }}
                  />
                </td>
              </tr>
            ))}
            {users.data && rows.length === 0 && (
              <tr>
                <td colSpan={5} className="c2-empty">
                  No users yet besides the root user.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {creating && (
        <CreateUser
          policies={policies.data ?? CANNED.slice(0, 4)}
          onClose={() => setCreating(false)}
          onCreated={(ak, sk) => {
            setCreating(false);
            setCreated({ ak, sk });
            void users.reload();
          }}
        />
      )}
      {created && <CredentialsModal title="User created" testId="user-created" accessKey={created.ak} secretKey={created.sk} onClose={() => setCreated(null)} />}
      {editing && users.data?.[editing] && (
        <EditPolicies
          user={editing}
          current={pols(users.data[editing])}
          all={policies.data ?? CANNED}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void users.reload();
          }}
        />
      )}
    </div>
  );
}
