// #/identity/groups: groups (create with members and policies, change members and
// policies, enable/disable, delete).
//
// Test ids: groups-create, group-name, group-member-<user>, group-policy-<policy>,
// group-create-submit, group-create-error, group-row-<name>, group-members-<name>,
// group-policy-cell-<name>, group-edit-<name>, group-toggle-<name>, group-delete-<name>.
import { useState } from 'react';
import { CANNED, addMembers, deleteGroup, groupInfo, listGroups, listPolicies, listUsers, removeMembers, setGroupStatus, setPolicies, type GroupDesc } from '../../api/iam';
import { CheckList, ConfirmButton, ErrorBox, Modal, NoPermission, StatusPill, useLoad } from '../kit/ui';

async function loadGroups(): Promise<GroupDesc[]> {
  const names = await listGroups();
  return Promise.all(names.sort().map((n) => groupInfo(n)));
}

function GroupForm(props: { group: GroupDesc | null; users: string[]; policies: string[]; onClose: () => void; onSaved: () => void }) {
  const g = props.group;
  const [name, setName] = useState(g?.name ?? '');
  const [members, setMembers] = useState<string[]>(g?.members ?? []);
  const [pols, setPols] = useState<string[]>(g?.policy ? g.policy.split(',').filter(Boolean) : []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    if (!/^[A-Za-z0-9_.@=,+-]{1,128}$/.test(name)) return setError('The group name is 1 to 128 letters, digits and _ . @ = , + -');
    setBusy(true);
    setError(null);
    try {
      const before = g?.members ?? [];
      const add = members.filter((m) => !before.includes(m));
      const remove = before.filter((m) => !members.includes(m));
      // A new group is made by its first update, even with no members.
      if (!g || add.length) await addMembers(name, add);
      if (remove.length) await removeMembers(name, remove);
      const had = g?.policy ? g.policy.split(',').filter(Boolean) : [];
      if (pols.join(',') !== had.join(',')) await setPolicies(name, pols, true);
      props.onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={g ? `Edit group ${g.name}` : 'Create group'}
      onClose={props.onClose}
      testId="group-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" data-testid="group-create-submit" disabled={busy} onClick={submit}>
            {busy ? 'Saving…' : g ? 'Save' : 'Create group'}
          </button>
        </>
      }
    >
      <label className="field">
        <span>Group name</span>
        <input autoFocus data-testid="group-name" value={name} disabled={!!g} onChange={(ev) => setName(ev.target.value.trim())} placeholder="analysts" />
      </label>
      <div className="field">
        <span>Members</span>
        <CheckList all={props.users} chosen={members} onChange={setMembers} prefix="group-member" empty="No users to add yet." />
      </div>
      <div className="field">
        <span>Policies</span>
        <CheckList all={props.policies} chosen={pols} onChange={setPols} prefix="group-policy" empty="No policies." />
      </div>
      <ErrorBox error={error} testId="group-create-error" />
    </Modal>
  );
}

export default function Groups() {
  const groups = useLoad(loadGroups, []);
  const users = useLoad(async () => Object.keys(await listUsers()).sort(), []);
  const policies = useLoad(async () => Object.keys(await listPolicies()).sort(), []);
  const [editing, setEditing] = useState<GroupDesc | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (groups.denied) return <NoPermission what="manage groups" />;
  return (
    <div className="page" data-testid="groups-page">
      <div className="page-head">
        <div>
          <h1>Groups</h1>
          <p className="muted">A group's policies apply to all its members.</p>
        </div>
        <div className="actions">
          <button type="button" className="btn" onClick={() => void groups.reload()}>
            Refresh
          </button>
          <button type="button" className="btn btn-primary" data-testid="groups-create" onClick={() => setEditing('new')}>
            + Create group
          </button>
        </div>
      </div>
      <ErrorBox error={groups.error ?? error} />
      <div className="card">
        <table className="table" data-testid="groups-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Members</th>
              <th>Policies</th>
              <th className="c2-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {groups.data?.map((g) => (
              <tr key={g.name} data-testid={`group-row-${g.name}`}>
                <td className="c2-strong">{g.name}</td>
                <td>
                  <StatusPill on={g.status === 'enabled'} />
                </td>
                <td data-testid={`group-members-${g.name}`}>{g.members.length ? g.members.join(', ') : <span className="muted">no members</span>}</td>
                <td data-testid={`group-policy-cell-${g.name}`}>
                  {g.policy ? g.policy.split(',').map((p) => <span key={p} className="badge badge-accent" style={{ marginRight: 4 }}>{p}</span>) : <span className="muted">none</span>}
                </td>
                <td className="c2-right c2-nowrap">
                  <button type="button" className="btn btn-sm" data-testid={`group-edit-${g.name}`} onClick={() => setEditing(g)}>
                    Edit
                  </button>{' '}
                  <button
                    type="button"
                    className="btn btn-sm"
                    data-testid={`group-toggle-${g.name}`}
                    onClick={async () => {
                      setError(null);
                      try {
                        await setGroupStatus(g.name, g.status !== 'enabled');
                        await groups.reload();
                      } catch (e) {
                        setError(e);
                      }
                    }}
                  >
                    {g.status === 'enabled' ? 'Disable' : 'Enable'}
                  </button>{' '}
                  <ConfirmButton
                    label="Delete"
                    testId={`group-delete-${g.name}`}
                    confirm={`Delete group "${g.name}"? Its members leave it (the users stay).`}
                    onConfirm={async () => {
                      if (g.members.length) await removeMembers(g.name, g.members);
                      await deleteGroup(g.name);
                      await groups.reload();
                    }}
                  />
                </td>
              </tr>
            ))}
            {groups.data && groups.data.length === 0 && (
              <tr>
                <td colSpan={5} className="c2-empty">
                  No groups yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {editing && (
        <GroupForm
          group={editing === 'new' ? null : editing}
          users={users.data ?? []}
          policies={policies.data ?? CANNED}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void groups.reload();
          }}
        />
      )}
    </div>
  );
}
