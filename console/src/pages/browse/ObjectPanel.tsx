// One object's panel: details (HEAD), versions, tags, and a share link.

import { useEffect, useState } from "react";
import { config, s3Endpoint } from "../../api/config";
import {
  deleteObject,
  getObjectTagging,
  headObject,
  listObjectVersions,
  putObjectTagging,
  type ObjectDetails,
  type Tags,
  type VersionEntry,
} from "../../api/s3";
import { objectPath, presign } from "../../api/sign";
import { errorText } from "../../api/xml";
import { Confirm, ErrorBanner, Modal, Spinner, formatBytes, formatDate } from "../../components/ui";
import { getSession } from "../../session";
import { downloadObject } from "./download";

type Tab = "details" | "versions" | "tags" | "share";

export function ObjectPanel(props: { bucket: string; objectKey: string; onClose: () => void; onChanged: () => void }) {
  const [tab, setTab] = useState<Tab>("details");
  const { bucket, objectKey } = props;
  return (
    <Modal title={objectKey.split("/").filter(Boolean).pop() ?? objectKey} onClose={props.onClose} wide>
      <div className="muted small mono panel-path">
        {bucket}/{objectKey}
      </div>
      <div className="tabs" role="tablist">
        {(["details", "versions", "tags", "share"] as Tab[]).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} className={"tab" + (tab === t ? " active" : "")} onClick={() => setTab(t)}>
            {t === "details" ? "Details" : t === "versions" ? "Versions" : t === "tags" ? "Tags" : "Share"}
          </button>
        ))}
      </div>
      {tab === "details" && <DetailsTab bucket={bucket} objectKey={objectKey} />}
      {tab === "versions" && <VersionsTab bucket={bucket} objectKey={objectKey} onChanged={props.onChanged} />}
      {tab === "tags" && <TagsTab bucket={bucket} objectKey={objectKey} />}
      {tab === "share" && <ShareTab bucket={bucket} objectKey={objectKey} />}
    </Modal>
  );
}

function DetailsTab(props: { bucket: string; objectKey: string }) {
  const [d, setD] = useState<ObjectDetails | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    headObject(props.bucket, props.objectKey)
      .then(setD)
      .catch((e) => setError(errorText(e)));
  }, [props.bucket, props.objectKey]);
  if (error) return <ErrorBanner error={error} />;
  if (!d) return <Spinner />;
  return (
    <div>
      <dl className="kv" data-testid="object-details">
        <dt>Size</dt>
        <dd>
          {formatBytes(d.size)} <span className="muted">({d.size.toLocaleString()} bytes)</span>
        </dd>
        <dt>ETag</dt>
        <dd className="mono">{d.etag}</dd>
        <dt>Content type</dt>
        <dd>{d.contentType}</dd>
        <dt>Last modified</dt>
        <dd>{d.lastModified ? formatDate(d.lastModified) : ""}</dd>
        {d.versionId && (
          <>
            <dt>Version</dt>
            <dd className="mono">{d.versionId}</dd>
          </>
        )}
        {d.headers.map(([k, v]) => (
          <FragmentRow key={k} k={k} v={v} />
        ))}
      </dl>
      <h3 className="section-title">Metadata</h3>
      {d.metadata.length === 0 ? (
        <p className="muted">No user metadata.</p>
      ) : (
        <dl className="kv">
          {d.metadata.map(([k, v]) => (
            <FragmentRow key={k} k={k} v={v} />
          ))}
        </dl>
      )}
      <div className="modal-foot">
        <button className="btn btn-primary" onClick={() => void downloadObject(props.bucket, props.objectKey).catch((e) => setError(errorText(e)))}>
          Download
        </button>
      </div>
    </div>
  );
}

function FragmentRow(props: { k: string; v: string }) {
  return (
    <>
      <dt>{props.k}</dt>
      <dd>{props.v}</dd>
    </>
  );
}

function VersionsTab(props: { bucket: string; objectKey: string; onChanged: () => void }) {
  const [versions, setVersions] = useState<VersionEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [toDelete, setToDelete] = useState<VersionEntry | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setVersions(null);
    listObjectVersions(props.bucket, props.objectKey)
      .then(setVersions)
      .catch((e) => {
        setError(errorText(e));
        setVersions([]);
      });
  }, [props.bucket, props.objectKey, reload]);
  async function remove() {
    if (!toDelete) return;
    setBusy(true);
    try {
      await deleteObject(props.bucket, props.objectKey, toDelete.versionId);
      setToDelete(null);
      setReload((n) => n + 1);
      props.onChanged();
    } catch (e) {
      setError(errorText(e));
      setToDelete(null);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {versions === null ? (
        <Spinner />
      ) : versions.length === 0 ? (
        <p className="muted">No versions.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Versions">
            <thead>
              <tr>
                <th>Version</th>
                <th className="num">Size</th>
                <th>Last modified</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.versionId} data-testid="version-row">
                  <td title={v.versionId}>
                    <span className="mono">{v.versionId === "null" ? "null" : v.versionId.slice(0, 18) + (v.versionId.length > 18 ? "…" : "")}</span>{" "}
                    {v.isLatest && <span className="badge badge-accent">latest</span>} {v.deleteMarker && <span className="badge badge-warn">delete marker</span>}
                  </td>
                  <td className="num">{v.deleteMarker ? "—" : formatBytes(v.size)}</td>
                  <td className="nowrap">{formatDate(v.lastModified)}</td>
                  <td className="row-actions">
                    {!v.deleteMarker && (
                      <button className="btn btn-sm" onClick={() => void downloadObject(props.bucket, props.objectKey, v.versionId).catch((e) => setError(errorText(e)))}>
                        Download
                      </button>
                    )}
                    <button className="btn btn-sm btn-danger-ghost" onClick={() => setToDelete(v)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {toDelete && (
        <Confirm
          title="Delete version"
          danger
          busy={busy}
          confirmLabel="Delete version"
          message={
            <>
              Permanently delete version <span className="mono">{toDelete.versionId}</span>
              {toDelete.deleteMarker ? " (a delete marker)" : ""}? This cannot be undone.
            </>
          }
          onConfirm={() => void remove()}
          onCancel={() => setToDelete(null)}
        />
      )}
    </div>
  );
}

function TagsTab(props: { bucket: string; objectKey: string }) {
  const [tags, setTags] = useState<Tags | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    getObjectTagging(props.bucket, props.objectKey)
      .then(setTags)
      .catch((e) => {
        setError(errorText(e));
        setTags([]);
      });
  }, [props.bucket, props.objectKey]);
  if (tags === null) return <Spinner />;
  const set = (i: number, j: 0 | 1, v: string) => {
    setSaved(false);
    setTags(tags.map((t, n) => (n === i ? ((j === 0 ? [v, t[1]] : [t[0], v]) as [string, string]) : t)));
  };
  async function save() {
    setBusy(true);
    setError(null);
    try {
      await putObjectTagging(props.bucket, props.objectKey, (tags ?? []).filter(([k]) => k.trim() !== ""));
      setSaved(true);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {saved && <div className="alert alert-ok">Tags saved.</div>}
      {tags.length === 0 && <p className="muted">No tags. An object can have up to 10.</p>}
      {tags.map(([k, v], i) => (
        <div className="tag-row" key={i}>
          <input aria-label={`Tag key ${i + 1}`} placeholder="Key" value={k} onChange={(e) => set(i, 0, e.target.value)} />
          <input aria-label={`Tag value ${i + 1}`} placeholder="Value" value={v} onChange={(e) => set(i, 1, e.target.value)} />
          <button
            className="btn"
            aria-label={`Remove tag ${i + 1}`}
            onClick={() => {
              setSaved(false);
              setTags(tags.filter((_, n) => n !== i));
            }}
          >
            Remove
          </button>
        </div>
      ))}
      <div className="modal-foot">
        <button className="btn" disabled={tags.length >= 10} onClick={() => setTags([...tags, ["", ""]])}>
          Add tag
        </button>
        <button className="btn btn-primary" disabled={busy} onClick={() => void save()}>
          Save tags
        </button>
      </div>
    </div>
  );
}

const EXPIRIES: [number, string][] = [
  [3600, "1 hour"],
  [86400, "1 day"],
  [604800, "7 days"],
];

function ShareTab(props: { bucket: string; objectKey: string }) {
  const [expires, setExpires] = useState(3600);
  const [url, setUrl] = useState("");
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const session = getSession();
  const sessionEnds = session?.expiration ? new Date(session.expiration) : null;
  const linkEnds = new Date(Date.now() + expires * 1000);
  const capped = sessionEnds !== null && sessionEnds < linkEnds;
  async function make() {
    setError(null);
    setCopied(false);
    try {
      setUrl(await presign({ path: objectPath(props.bucket, props.objectKey), expires, endpoint: s3Endpoint() }));
    } catch (e) {
      setError(errorText(e));
    }
  }
  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      const el = document.getElementById("share-url") as HTMLInputElement | null;
      el?.select();
      document.execCommand("copy");
    }
    setCopied(true);
  }
  return (
    <div>
      <p className="muted">
        A presigned link lets anyone who has it download this object until it expires, with no login. It points to the S3 endpoint{" "}
        <span className="mono">{s3Endpoint()}</span>
        {config().s3_url ? "" : " (set RUSTFS_SERVER_URL to change it)"}.
      </p>
      <div className="inline-form share-form">
        <label className="field inline">
          <span>Expires after</span>
          <select
            aria-label="Expires after"
            value={expires}
            onChange={(e) => {
              setExpires(Number(e.target.value));
              setUrl("");
            }}
          >
            {EXPIRIES.map(([s, l]) => (
              <option key={s} value={s}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" onClick={() => void make()}>
          Create link
        </button>
      </div>
      <div className={"alert " + (capped ? "alert-warn" : "alert-info")}>
        You are logged in with temporary credentials: a link expires no later than your session
        {sessionEnds ? ` (${formatDate(sessionEnds.toISOString())})` : ""}
        {capped ? ", which is sooner than the expiry chosen." : "."}
      </div>
      <ErrorBanner error={error} />
      {url && (
        <div className="copy-row">
          <input id="share-url" aria-label="Share link" readOnly value={url} onFocus={(e) => e.target.select()} />
          <button className="btn" onClick={() => void copy()}>
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      )}
    </div>
  );
}
