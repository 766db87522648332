// Lifecycle rules of a bucket: list, add, edit, delete; saved whole with
// PutBucketLifecycleConfiguration (no rules left: the configuration is deleted).
//
// Test ids: lifecycle-add, lifecycle-id, lifecycle-prefix, lifecycle-enabled,
// lifecycle-expiration, lifecycle-noncurrent, lifecycle-abort, lifecycle-save,
// lifecycle-row-<id>, lifecycle-edit-<id>, lifecycle-delete-<id>, lifecycle-error.
import { useState } from 'react';
import { getLifecycle, putLifecycle, type LifecycleRule } from './api';
import { ConfirmButton, ErrorBox, Modal, useLoad } from '../kit/ui';

function days(n: number | undefined): string {
  return n ? `${n} day${n === 1 ? '' : 's'}` : '—';
}

function RuleForm(props: {
  rule: LifecycleRule | null;
  taken: string[];
  onClose: () => void;
  onSave: (r: LifecycleRule) => Promise<void>;
}) {
  const r = props.rule;
  const [id, setId] = useState(r?.id ?? `rule-${Math.random().toString(36).slice(2, 8)}`);
  const [prefix, setPrefix] = useState(r?.prefix ?? '');
  const [enabled, setEnabled] = useState(r?.enabled ?? true);
  const [exp, setExp] = useState(r?.expirationDays?.toString() ?? '');
  const [nce, setNce] = useState(r?.noncurrentDays?.toString() ?? '');
  const [abort, setAbort] = useState(r?.abortDays?.toString() ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const nums: Record<string, string> = { Expiration: exp, 'Noncurrent version expiration': nce, 'Abort incomplete uploads': abort };
    for (const [label, v] of Object.entries(nums)) {
      if (v !== '' && !(Number.isInteger(Number(v)) && Number(v) > 0)) {
        setError(`${label}: a whole number of days above 0, or empty.`);
        return;
      }
    }
    if (!id.trim()) return setError('The rule needs an ID.');
    if (id.length > 255) return setError('The ID is at most 255 characters.');
    if (props.taken.includes(id) && id !== r?.id) return setError(`A rule with ID "${id}" exists already.`);
    if (!exp && !nce && !abort) return setError('Choose at least one action: expiration, noncurrent version expiration or aborting uploads.');
    setBusy(true);
    setError(null);
    try {
      await props.onSave({
        id: id.trim(),
        prefix,
        enabled,
        expirationDays: exp ? Number(exp) : undefined,
        noncurrentDays: nce ? Number(nce) : undefined,
        abortDays: abort ? Number(abort) : undefined,
      });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      wide
      title={r ? `Edit rule ${r.id}` : 'Add lifecycle rule'}
      onClose={props.onClose}
      testId="lifecycle-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" data-testid="lifecycle-save" disabled={busy} onClick={submit}>
            {busy ? 'Saving…' : 'Save rule'}
          </button>
        </>
      }
    >
      {r?.more && (
        <div className="alert alert-info">
          This rule also has settings this page does not edit ({r.more.join(', ')}); saving it from here replaces them.
        </div>
      )}
      <div className="c2-grid2">
        <label className="field">
          <span>Rule ID</span>
          <input data-testid="lifecycle-id" value={id} onChange={(ev) => setId(ev.target.value)} />
        </label>
        <label className="field">
          <span>Prefix filter (empty: the whole bucket)</span>
          <input data-testid="lifecycle-prefix" value={prefix} placeholder="logs/" onChange={(ev) => setPrefix(ev.target.value)} />
        </label>
        <label className="field">
          <span>Expire current versions after (days)</span>
          <input data-testid="lifecycle-expiration" type="number" min={1} value={exp} onChange={(ev) => setExp(ev.target.value)} />
        </label>
        <label className="field">
          <span>Expire noncurrent versions after (days)</span>
          <input data-testid="lifecycle-noncurrent" type="number" min={1} value={nce} onChange={(ev) => setNce(ev.target.value)} />
        </label>
        <label className="field">
          <span>Abort incomplete multipart uploads after (days)</span>
          <input data-testid="lifecycle-abort" type="number" min={1} value={abort} onChange={(ev) => setAbort(ev.target.value)} />
        </label>
        <label className="checkbox c2-check-inline">
          <input type="checkbox" data-testid="lifecycle-enabled" checked={enabled} onChange={(ev) => setEnabled(ev.target.checked)} />
          <span>Rule enabled</span>
        </label>
      </div>
      <ErrorBox error={error} testId="lifecycle-error" />
    </Modal>
  );
}

export default function Lifecycle(props: { bucket: string }) {
  const { data: rules, error, reload } = useLoad(() => getLifecycle(props.bucket), [props.bucket]);
  const [editing, setEditing] = useState<LifecycleRule | 'new' | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const save = async (next: LifecycleRule[]) => {
    setSaveError(null);
    await putLifecycle(props.bucket, next);
    await reload();
  };
  const list = rules ?? [];
  return (
    <section className="card c2-section" aria-labelledby="lc-h">
      <div className="c2-section-head">
        <div>
          <h2 id="lc-h">Lifecycle rules</h2>
          <p className="muted">Expire objects and old versions, and clean up abandoned multipart uploads.</p>
        </div>
        <button type="button" className="btn btn-primary" data-testid="lifecycle-add" onClick={() => setEditing('new')}>
          + Add rule
        </button>
      </div>
      <ErrorBox error={error ?? saveError} testId="lifecycle-error" />
      <table className="table" data-testid="lifecycle-table">
        <thead>
          <tr>
            <th>ID</th>
            <th>Prefix</th>
            <th>Status</th>
            <th>Expiration</th>
            <th>Noncurrent versions</th>
            <th>Abort uploads</th>
            <th className="c2-right">Actions</th>
          </tr>
        </thead>
        <tbody>
          {list.map((r) => (
            <tr key={r.id} data-testid={`lifecycle-row-${r.id}`}>
              <td className="c2-strong">
                {r.id}
                {r.more && <span className="muted"> (+{r.more.join(', ')})</span>}
              </td>
              <td>{r.prefix ? <code>{r.prefix}</code> : <span className="muted">whole bucket</span>}</td>
              <td>
                <span className={r.enabled ? 'badge badge-ok' : 'badge badge-off'}>{r.enabled ? 'Enabled' : 'Disabled'}</span>
              </td>
              <td>{days(r.expirationDays)}</td>
              <td>{days(r.noncurrentDays)}</td>
              <td>{days(r.abortDays)}</td>
              <td className="c2-right c2-nowrap">
                <button type="button" className="btn btn-sm" data-testid={`lifecycle-edit-${r.id}`} onClick={() => setEditing(r)}>
                  Edit
                </button>{' '}
                <ConfirmButton
                  label="Delete"
                  testId={`lifecycle-delete-${r.id}`}
                  confirm={`Delete lifecycle rule "${r.id}"?`}
                  onConfirm={() => save(list.filter((x) => x.id !== r.id))}
                />
              </td>
            </tr>
          ))}
          {rules && list.length === 0 && (
            <tr>
              <td colSpan={7} className="c2-empty">
                No lifecycle rules.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {editing && (
        <RuleForm
          rule={editing === 'new' ? null : editing}
          taken={list.map((r) => r.id)}
          onClose={() => setEditing(null)}
          onSave={async (r) => {
            const old = editing === 'new' ? null : editing.id;
            const next = old === null ? [...list, r] : list.map((x) => (x.id === old ? r : x));
            await save(next);
            setEditing(null);
          }}
        />
      )}
    </section>
  );
}
