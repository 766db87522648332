// #/browse: the buckets to browse, and a quick "Create bucket".

import { useCallback, useEffect, useState } from "react";
import { createBucket, listBuckets, type Bucket } from "../../api/s3";
import { errorText } from "../../api/xml";
import { EmptyState, ErrorBanner, Modal, Spinner, formatDate } from "../../components/ui";
import { href, navigate, seg } from "../../router";

export function BucketPicker() {
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [byName, setByName] = useState("");

  const load = useCallback(async () => {
    setError(null);
    try {
      setBuckets(await listBuckets());
    } catch (e) {
      setError(errorText(e));
      setBuckets([]);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Object browser</h1>
          <p className="muted">Choose a bucket to browse its objects.</p>
        </div>
        <div className="actions">
          <button className="btn" onClick={() => void load()}>
            Refresh
          </button>
          <button className="btn btn-primary" onClick={() => setCreating(true)}>
            Create bucket
          </button>
        </div>
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <form
        className="card open-bucket"
        onSubmit={(e) => {
          e.preventDefault();
          if (byName.trim()) navigate(`/browse/${seg(byName.trim())}/`);
        }}
      >
        <label className="field inline">
          <span>Open a bucket by name</span>
          <input name="openBucket" placeholder="bucket-name" value={byName} onChange={(e) => setByName(e.target.value)} />
        </label>
        <button className="btn" type="submit" disabled={!byName.trim()}>
          Open
        </button>
        <span className="muted small">For a bucket you may use but not see in the list.</span>
      </form>
      {buckets === null ? (
        <Spinner />
      ) : buckets.length === 0 ? (
        <EmptyState title="No buckets yet">Create a bucket to start storing objects.</EmptyState>
      ) : (
        <div className="bucket-grid">
          {buckets.map((b) => (
            <a key={b.name} className="bucket-card" href={href(`/browse/${seg(b.name)}/`)}>
              <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
                <path d="M4 7h16l-1.5 12h-13zM4 7l2-3h12l2 3" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
              </svg>
              <div>
                <div className="bucket-name">{b.name}</div>
                <div className="muted small">created {formatDate(b.created)}</div>
              </div>
            </a>
          ))}
        </div>
      )}
      {creating && <CreateBucketModal onClose={() => setCreating(false)} onCreated={() => void load()} />}
    </div>
  );
}

function CreateBucketModal(props: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await createBucket(name.trim());
      props.onCreated();
      props.onClose();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal title="Create bucket" onClose={props.onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label className="field">
          <span>Bucket name</span>
          <input name="bucketName" autoFocus required value={name} onChange={(e) => setName(e.target.value)} placeholder="my-bucket" />
        </label>
        <p className="muted small">3–63 characters: lowercase letters, digits, dots and hyphens.</p>
        <ErrorBanner error={error} />
        <div className="modal-foot">
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}
