// #/buckets/<name>: a bucket's settings — versioning (enable/suspend; a lock bucket's
// suspension is refused by the server and its message shown), object lock default
// retention, the bucket policy editor, lifecycle rules and tags.
//
// Test ids: settings-versioning-state, versioning-enable, versioning-suspend,
// versioning-error, lock-state, lock-mode, lock-days, lock-save, lock-error, tag-key,
// tag-value, tag-add, tags-save; see PolicyEditor.tsx and Lifecycle.tsx for theirs.
import { useEffect, useState } from 'react';
import { getObjectLock, getTags, getVersioning, putObjectLock, putTags, putVersioning, type ObjectLock, type Tags, type Versioning } from './api';
import PolicyEditor from './PolicyEditor';
import Lifecycle from './Lifecycle';
import { ErrorBox, NoPermission, deniedError, useLoad } from '../kit/ui';

function bucketFromHash(): string {
  const m = /^#\/buckets\/([^/?]+)/.exec(window.location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

function VersioningCard(props: { bucket: string; lock: boolean }) {
  const { data: state, error, reload } = useLoad<Versioning>(() => getVersioning(props.bucket), [props.bucket]);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = async (s: 'Enabled' | 'Suspended') => {
    setBusy(true);
    setErr(null);
    try {
      await putVersioning(props.bucket, s);
      await reload();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card c2-section">
      <h2>Versioning</h2>
      <p>
        State:{' '}
        <span data-testid="settings-versioning-state" className={state === 'Enabled' ? 'badge badge-ok' : state === 'Suspended' ? 'badge badge-warn' : 'badge badge-off'}>
          {state ?? '…'}
        </span>
      </p>
      <p className="muted">
        {props.lock ? 'Object lock is on: versioning stays enabled.' : 'Enabled keeps every version; suspended stops making new ones (old versions stay).'}
      </p>
      <div className="c2-row">
        <button type="button" className="btn btn-primary" data-testid="versioning-enable" disabled={busy || state === 'Enabled'} onClick={() => set('Enabled')}>
          Enable
        </button>
        <button type="button" className="btn" data-testid="versioning-suspend" disabled={busy || state !== 'Enabled'} onClick={() => set('Suspended')}>
          Suspend
        </button>
      </div>
      <ErrorBox error={err ?? error} testId="versioning-error" />
    </section>
  );
}

function LockCard(props: { bucket: string; lock: ObjectLock; reload: () => Promise<void> }) {
  const r = props.lock.retention;
  const [mode, setMode] = useState<'' | 'GOVERNANCE' | 'COMPLIANCE'>(r?.mode ?? '');
  const [unit, setUnit] = useState<'days' | 'years'>(r?.years ? 'years' : 'days');
  const [count, setCount] = useState(String(r?.years ?? r?.days ?? 30));
  const [err, setErr] = useState<unknown>(null);
  const [ok, setOk] = useState<string | null>(null);
  if (!props.lock.enabled) {
    return (
      <section className="card c2-section">
        <h2>Object lock</h2>
        <p data-testid="lock-state">
          <span className="badge badge-off">off</span> Object lock can only be chosen when a bucket is created.
        </p>
      </section>
    );
  }
  const save = async () => {
    setErr(null);
    setOk(null);
    const n = Number(count);
    if (mode && !(Number.isInteger(n) && n > 0)) return setErr(`The retention is a whole number of ${unit} above 0.`);
    try {
      await putObjectLock(props.bucket, mode ? (unit === 'years' ? { mode, years: n } : { mode, days: n }) : null);
      setOk(mode ? 'Default retention saved.' : 'Default retention removed.');
      await props.reload();
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <section className="card c2-section">
      <h2>Object lock</h2>
      <p data-testid="lock-state">
        <span className="badge badge-accent">enabled</span>{' '}
        {r ? (
          <>
            Default retention: <b>{r.mode}</b> for {r.years ? `${r.years} year(s)` : `${r.days} day(s)`}
          </>
        ) : (
          'No default retention: new objects are not locked unless the upload asks.'
        )}
      </p>
      <div className="c2-row">
        <label className="field c2-inline">
          <span>Mode</span>
          <select data-testid="lock-mode" value={mode} onChange={(ev) => setMode(ev.target.value as typeof mode)}>
            <option value="">No default retention</option>
            <option value="GOVERNANCE">Governance</option>
            <option value="COMPLIANCE">Compliance</option>
          </select>
        </label>
        {mode && (
          <>
            <label className="field c2-inline">
              <span>Period</span>
              <input data-testid="lock-days" type="number" min={1} style={{ width: 90 }} value={count} onChange={(ev) => setCount(ev.target.value)} />
            </label>
            <label className="field c2-inline">
              <span>Unit</span>
              <select value={unit} onChange={(ev) => setUnit(ev.target.value as typeof unit)}>
                <option value="days">days</option>
                <option value="years">years</option>
              </select>
            </label>
          </>
        )}
        <button type="button" className="btn btn-primary" data-testid="lock-save" onClick={save}>
          Save
        </button>
      </div>
      {ok && (
        <div className="alert alert-ok" role="status">
          {ok}
        </div>
      )}
      <ErrorBox error={err} testId="lock-error" />
    </section>
  );
}

function TagsCard(props: { bucket: string }) {
  const { data, error, reload } = useLoad<Tags>(() => getTags(props.bucket), [props.bucket]);
  const [tags, setTags] = useState<Tags>([]);
  const [k, setK] = useState('');
  const [v, setV] = useState('');
  const [err, setErr] = useState<unknown>(null);
  const [ok, setOk] = useState(false);
  useEffect(() => setTags(data ?? []), [data]);
  const save = async (next: Tags) => {
    setErr(null);
    setOk(false);
    try {
      await putTags(props.bucket, next);
      await reload();
      setOk(true);
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <section className="card c2-section">
      <h2>Tags</h2>
      <div className="c2-tags" data-testid="tags-list">
        {tags.length === 0 && <span className="muted">No tags.</span>}
        {tags.map((t) => (
          <span className="c2-tag" key={t.key}>
            <b>{t.key}</b>={t.value}
            <button type="button" aria-label={`Remove tag ${t.key}`} onClick={() => save(tags.filter((x) => x.key !== t.key))}>
              ×
            </button>
          </span>
        ))}
      </div>
      <form
        className="c2-row"
        onSubmit={(ev) => {
          ev.preventDefault();
          if (!k.trim()) return;
          void save([...tags.filter((x) => x.key !== k.trim()), { key: k.trim(), value: v }]).then(() => {
            setK('');
            setV('');
          });
        }}
      >
        <input data-testid="tag-key" placeholder="key" aria-label="Tag key" value={k} onChange={(ev) => setK(ev.target.value)} />
        <input data-testid="tag-value" placeholder="value" aria-label="Tag value" value={v} onChange={(ev) => setV(ev.target.value)} />
        <button type="submit" className="btn" data-testid="tag-add">
          Add tag
        </button>
      </form>
      {ok && <span className="muted">Tags saved.</span>}
      <ErrorBox error={err ?? error} testId="tags-error" />
    </section>
  );
}

export default function BucketSettings(props: { bucket?: string; name?: string }) {
  const bucket = props.bucket ?? props.name ?? bucketFromHash();
  const lock = useLoad<ObjectLock>(() => getObjectLock(bucket), [bucket]);
  if (lock.denied) return <NoPermission what={`read the settings of bucket ${bucket}`} />;
  const missing = lock.error && !deniedError(lock.error) && /NoSuchBucket/.test(String((lock.error as { code?: string }).code));
  return (
    <div className="page" data-testid="bucket-settings-page">
      <div className="page-head">
        <div>
          <div className="breadcrumbs">
            <a href="#/buckets">Buckets</a> / <span>{bucket}</span>
          </div>
          <h1>{bucket}</h1>
        </div>
        <div className="actions">
          <a className="btn" href={`#/browse/${encodeURIComponent(bucket)}/`}>
            Browse objects
          </a>
        </div>
      </div>
      {missing ? (
        <ErrorBox error={lock.error} />
      ) : (
        <>
          <div className="c2-grid2">
            <VersioningCard bucket={bucket} lock={lock.data?.enabled ?? false} />
            {lock.data ? <LockCard key={JSON.stringify(lock.data)} bucket={bucket} lock={lock.data} reload={lock.reload} /> : <section className="card c2-section"><h2>Object lock</h2><ErrorBox error={lock.error} /></section>}
          </div>
          <PolicyEditor bucket={bucket} />
          <Lifecycle bucket={bucket} />
          <TagsCard bucket={bucket} />
        </>
      )}
    </div>
  );
}
