// #/buckets: the bucket list (name, creation date, versioning, object lock), create with
// versioning and object lock choices, delete with a confirmation.
//
// Test ids: buckets-create (opens the dialog), bucket-name, bucket-versioning,
// bucket-object-lock, bucket-retention-mode, bucket-retention-days, bucket-create-submit,
// bucket-row-<name>, bucket-delete-<name>, confirm-yes, error.
import { useState } from 'react';
import { createBucket, deleteBucket, getObjectLock, getVersioning, listBuckets, type Versioning } from './api';
import { BucketIcon, ConfirmButton, ErrorBox, Modal, NoPermission, formatDate, messageOf, useLoad } from '../kit/ui';

interface Row {
  name: string;
  created: string;
  versioning: Versioning | '?';
  lock: boolean | '?';
}

async function loadRows(): Promise<Row[]> {
  const buckets = await listBuckets();
  return Promise.all(
    buckets.map(async (b) => {
      const [v, l] = await Promise.all([
        getVersioning(b.name).catch(() => '?' as const),
        getObjectLock(b.name).then(
          (x) => x.enabled,
          () => '?' as const,
        ),
      ]);
      return { ...b, versioning: v, lock: l };
    }),
  );
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function nameProblem(name: string): string | null {
  if (!name) return 'Enter a name.';
  if (!BUCKET_NAME.test(name)) return '3 to 63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.';
  if (name.includes('..')) return 'No two dots in a row.';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'A bucket name may not look like an IP address.';
  return null;
}

function CreateBucket(props: { onClose: () => void; onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [versioning, setVersioning] = useState(false);
  const [lock, setLock] = useState(false);
  const [mode, setMode] = useState<'' | 'GOVERNANCE' | 'COMPLIANCE'>('');
  const [days, setDays] = useState('30');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [touched, setTouched] = useState(false);
  const problem = nameProblem(name);
  const submit = async () => {
    setTouched(true);
    if (problem) return;
    const d = Number(days);
    if (lock && mode && !(Number.isInteger(d) && d > 0)) {
      setError('Retention days must be a whole number above 0.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await createBucket({ name, versioning: versioning || lock, objectLock: lock, retention: lock && mode ? { mode, days: d } : null });
      props.onCreated(name);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="Create bucket"
      onClose={props.onClose}
      testId="bucket-create-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" data-testid="bucket-create-submit" disabled={busy} onClick={submit}>
            {busy ? 'Creating…' : 'Create bucket'}
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
          <span>Bucket name</span>
          <input
            autoFocus
            data-testid="bucket-name"
            aria-label="Bucket name"
            value={name}
            placeholder="my-bucket"
            onChange={(ev) => setName(ev.target.value.trim())}
          />
          {touched && problem && <small className="c2-hint-bad">{problem}</small>}
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            data-testid="bucket-versioning"
            checked={versioning || lock}
            disabled={lock}
            onChange={(ev) => setVersioning(ev.target.checked)}
          />
          <span>
            <b>Versioning</b> — keep every version of each object
          </span>
        </label>
        <label className="checkbox">
          <input type="checkbox" data-testid="bucket-object-lock" checked={lock} onChange={(ev) => setLock(ev.target.checked)} />
          <span>
            <b>Object lock</b> — write-once-read-many retention (turns versioning on for good)
          </span>
        </label>
        {lock && (
          <div className="c2-sub">
            <label className="field">
              <span>Default retention</span>
              <select data-testid="bucket-retention-mode" value={mode} onChange={(ev) => setMode(ev.target.value as typeof mode)}>
                <option value="">None</option>
                <option value="GOVERNANCE">Governance</option>
                <option value="COMPLIANCE">Compliance</option>
              </select>
            </label>
            {mode && (
              <label className="field">
                <span>Days</span>
                <input data-testid="bucket-retention-days" type="number" min={1} value={days} onChange={(ev) => setDays(ev.target.value)} />
              </label>
            )}
          </div>
        )}
        <ErrorBox error={error} testId="bucket-create-error" />
      </form>
    </Modal>
  );
}

function VersioningBadge(props: { v: Row['versioning'] }) {
  const cls = props.v === 'Enabled' ? 'badge badge-ok' : props.v === 'Suspended' ? 'badge badge-warn' : 'badge badge-off';
  return <span className={cls}>{props.v === '?' ? 'unknown' : props.v}</span>;
}

export default function Buckets() {
  const { data, error, loading, reload, denied } = useLoad(loadRows, []);
  const [creating, setCreating] = useState(false);
  const [flash, setFlash] = useState<string | null>(null);
  if (denied) return <NoPermission what="list buckets" />;
  return (
    <div className="page" data-testid="buckets-page">
      <div className="page-head">
        <div>
          <h1>Buckets</h1>
          <p className="muted">Create buckets, choose versioning and object lock, and open their settings.</p>
        </div>
        <div className="actions">
          <button type="button" className="btn" onClick={() => void reload()}>
            Refresh
          </button>
          <button type="button" className="btn btn-primary" data-testid="buckets-create" onClick={() => setCreating(true)}>
            + Create bucket
          </button>
        </div>
      </div>
      {flash && (
        <div className="alert alert-ok" role="status" data-testid="buckets-flash">
          {flash}
        </div>
      )}
      <ErrorBox error={error} />
      <div className="card">
        <table className="table" data-testid="buckets-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Created</th>
              <th>Versioning</th>
              <th>Object lock</th>
              <th className="c2-right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data?.map((b) => (
              <tr key={b.name} data-testid={`bucket-row-${b.name}`}>
                <td>
                  <a className="c2-strong" href={`#/browse/${encodeURIComponent(b.name)}/`}>
                    <BucketIcon />
                    {b.name}
                  </a>
                </td>
                <td className="muted">{formatDate(b.created)}</td>
                <td>
                  <VersioningBadge v={b.versioning} />
                </td>
                <td>{b.lock === true ? <span className="badge badge-accent">locked</span> : b.lock === '?' ? '?' : <span className="muted">—</span>}</td>
                <td className="c2-right c2-nowrap">
                  <a className="btn btn-sm" href={`#/browse/${encodeURIComponent(b.name)}/`} data-testid={`bucket-browse-${b.name}`}>
                    Browse
                  </a>{' '}
                  <a className="btn btn-sm" href={`#/buckets/${encodeURIComponent(b.name)}`} data-testid={`bucket-settings-${b.name}`}>
                    Settings
                  </a>{' '}
                  <ConfirmButton
                    label="Delete"
                    testId={`bucket-delete-${b.name}`}
                    ariaLabel={`Delete bucket ${b.name}`}
                    confirm={`Delete bucket "${b.name}"? Only an empty bucket can be deleted.`}
                    onConfirm={async () => {
                      try {
                        await deleteBucket(b.name);
                      } catch (e) {
                        if (messageOf(e).startsWith('BucketNotEmpty')) {
                          throw new Error(`The bucket "${b.name}" is not empty: delete its objects (and all their versions) first.`);
                        }
                        throw e;
                      }
                      setFlash(`Bucket ${b.name} deleted.`);
                      await reload();
                    }}
                  />
                </td>
              </tr>
            ))}
            {data && data.length === 0 && (
              <tr>
                <td colSpan={5} className="c2-empty">
                  No buckets yet. Create one to start storing objects.
                </td>
              </tr>
            )}
            {!data && loading && (
              <tr>
                <td colSpan={5} className="c2-empty">
                  Loading…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {creating && (
        <CreateBucket
          onClose={() => setCreating(false)}
          onCreated={(name) => {
            setCreating(false);
            setFlash(`Bucket ${name} created.`);
            void reload();
          }}
        />
      )}
    </div>
  );
}
