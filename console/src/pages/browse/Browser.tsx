// #/browse/<bucket>/<prefix>: the object browser. Folders are CommonPrefixes of a
// ListObjectsV2 with delimiter "/"; pages follow continuation tokens.

import { useCallback, useEffect, useRef, useState, type DragEvent } from "react";
import { createFolder, deleteObject, listObjects, type Listing, type ObjectEntry } from "../../api/s3";
import { MULTIPART_THRESHOLD, CancelledError, uploadFile } from "../../api/upload";
import { errorText } from "../../api/xml";
import { Confirm, EmptyState, ErrorBanner, Modal, Spinner, formatBytes, formatDate } from "../../components/ui";
import { href, navigate, seg } from "../../router";
import { downloadObject } from "./download";
import { FileIcon, FolderIcon } from "./icons";
import { ObjectPanel } from "./ObjectPanel";
import { Uploads, type UploadItem } from "./Uploads";

export const PAGE_SIZE = 100;

export function browsePath(bucket: string, prefix: string): string {
  return `/browse/${seg(bucket)}/` + prefix.split("/").map(seg).join("/");
}

let uploadIds = 0;

export function Browser(props: { bucket: string; prefix: string }) {
  const { bucket, prefix } = props;
  // Tokens of the pages before the current one (page 1 has none).
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const [listing, setListing] = useState<Listing | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [uploads, setUploads] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);
  const [newFolder, setNewFolder] = useState(false);
  const [toDelete, setToDelete] = useState<ObjectEntry | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const token = tokens[tokens.length - 1];

  useEffect(() => {
    setTokens([null]);
  }, [bucket, prefix]);

  useEffect(() => {
    let live = true;
    setListing(null);
    setListError(null);
    listObjects(bucket, prefix, token, PAGE_SIZE)
      .then((l) => live && setListing(l))
      .catch((e) => {
        if (!live) return;
        setListError(errorText(e));
        setListing({ prefixes: [], objects: [], nextToken: null });
      });
    return () => {
      live = false;
    };
  }, [bucket, prefix, token, reload]);

  const refresh = useCallback(() => setReload((n) => n + 1), []);

  const update = (id: number, patch: Partial<UploadItem>) =>
    setUploads((us) => us.map((u) => (u.id === id ? { ...u, ...patch } : u)));

  function startUploads(files: FileList | File[]) {
    for (const file of Array.from(files)) {
      const id = ++uploadIds;
      const key = prefix + (file.webkitRelativePath || file.name);
      const handle = uploadFile(bucket, key, file, (loaded) => update(id, { loaded }));
      setUploads((us) => [
        ...us,
        {
          id,
          key,
          size: file.size,
          loaded: 0,
          state: "uploading",
          multipart: file.size > MULTIPART_THRESHOLD,
          started: Date.now(),
          cancel: handle.cancel,
        },
      ]);
      handle.done
        .then(() => {
          update(id, { state: "done", loaded: file.size });
          refresh();
        })
        .catch((e) => {
          if (e instanceof CancelledError) update(id, { state: "cancelled" });
          else {
            update(id, { state: "failed", error: errorText(e) });
            setError(`Upload of ${key} failed: ${errorText(e)}`);
          }
        });
    }
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    if (e.dataTransfer.files.length > 0) startUploads(e.dataTransfer.files);
  }

  async function confirmDelete() {
    if (!toDelete) return;
    setDeleting(true);
    try {
      await deleteObject(bucket, toDelete.key);
      setToDelete(null);
      refresh();
    } catch (e) {
      setError(errorText(e));
      setToDelete(null);
    } finally {
      setDeleting(false);
    }
  }

  const crumbs = prefix.split("/").filter(Boolean);
  const empty = listing && listing.prefixes.length === 0 && listing.objects.filter((o) => o.key !== prefix).length === 0;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>{bucket}</h1>
          <nav className="breadcrumbs" aria-label="Breadcrumbs">
            <a href={href("/browse")}>Buckets</a>
            <span className="sep">/</span>
            {crumbs.length === 0 ? (
              <span className="current">{bucket}</span>
            ) : (
              <a href={href(browsePath(bucket, ""))}>{bucket}</a>
            )}
            {crumbs.map((c, i) => {
              const p = crumbs.slice(0, i + 1).join("/") + "/";
              return (
                <span key={p} className="crumb">
                  <span className="sep">/</span>
                  {i === crumbs.length - 1 ? <span className="current">{c}</span> : <a href={href(browsePath(bucket, p))}>{c}</a>}
                </span>
              );
            })}
          </nav>
        </div>
        <div className="actions">
          <button className="btn" onClick={refresh}>
            Refresh
          </button>
          <button className="btn" onClick={() => setNewFolder(true)}>
            New folder
          </button>
          <button className="btn btn-primary" onClick={() => fileInput.current?.click()}>
            Upload
          </button>
          <input
            ref={fileInput}
            type="file"
            multiple
            hidden
            data-testid="file-input"
            onChange={(e) => {
              if (e.target.files) startUploads(e.target.files);
              e.target.value = "";
            }}
          />
        </div>
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <Uploads items={uploads} onClear={() => setUploads((us) => us.filter((u) => u.state === "uploading"))} />
      <div
        className={"dropzone" + (dragging ? " dragging" : "")}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={(e) => {
          if (e.currentTarget === e.target) setDragging(false);
        }}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        {listing === null ? (
          <div className="table-wrap center">
            <Spinner />
          </div>
        ) : listError ? (
          <EmptyState title="The objects here cannot be listed">
            <span role="alert">{listError}</span>
            <br />
            You may still upload or download objects your policies allow.
          </EmptyState>
        ) : empty && tokens.length === 1 ? (
          <EmptyState title={prefix ? "This folder is empty" : "This bucket is empty"}>Drop files here or use Upload.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Objects">
              <thead>
                <tr>
                  <th>Name</th>
                  <th className="num">Size</th>
                  <th>Last modified</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {listing.prefixes.map((p) => (
                  <tr key={p} className="clickable" onClick={() => navigate(browsePath(bucket, p))}>
                    <td>
                      <div className="name-cell">
                        <FolderIcon />
                        <a href={href(browsePath(bucket, p))} onClick={(e) => e.stopPropagation()}>
                          {p.slice(prefix.length)}
                        </a>
                      </div>
                    </td>
                    <td className="num muted">—</td>
                    <td className="muted">Folder</td>
                    <td />
                  </tr>
                ))}
                {listing.objects
                  .filter((o) => o.key !== prefix)
                  .map((o) => (
                    <tr key={o.key} data-testid="object-row" data-key={o.key}>
                      <td>
                        <div className="name-cell">
                          <FileIcon />
                          <button className="link-btn" onClick={() => setSelected(o.key)} title={o.key}>
                            {o.key.slice(prefix.length)}
                          </button>
                        </div>
                      </td>
                      <td className="num">{formatBytes(o.size)}</td>
                      <td className="nowrap">{formatDate(o.lastModified)}</td>
                      <td className="row-actions">
                        <button className="btn btn-sm" onClick={() => downloadObject(bucket, o.key).catch((e) => setError(errorText(e)))}>
                          Download
                        </button>
                        <button className="btn btn-sm" onClick={() => setSelected(o.key)}>
                          Details
                        </button>
                        <button className="btn btn-sm btn-danger-ghost" onClick={() => setToDelete(o)}>
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
            {(tokens.length > 1 || listing.nextToken) && (
              <div className="table-foot">
                <span className="muted small">Page {tokens.length}</span>
                <div className="actions">
                  <button className="btn btn-sm" disabled={tokens.length <= 1} onClick={() => setTokens((t) => t.slice(0, -1))}>
                    Previous
                  </button>
                  <button className="btn btn-sm" disabled={!listing.nextToken} onClick={() => listing.nextToken && setTokens((t) => [...t, listing.nextToken])}>
                    Next
                  </button>
                </div>
              </div>
            )}
          </div>
        )}
      </div>
      {newFolder && (
        <NewFolderModal
          onClose={() => setNewFolder(false)}
          onCreate={async (name) => {
            const p = prefix + name.replace(/^\/+|\/+$/g, "") + "/";
            await createFolder(bucket, p);
            setNewFolder(false);
            navigate(browsePath(bucket, p));
          }}
        />
      )}
      {toDelete && (
        <Confirm
          title="Delete object"
          danger
          busy={deleting}
          confirmLabel="Delete"
          message={
            <>
              Delete <strong className="mono">{toDelete.key}</strong>? In a versioned bucket this adds a delete marker; older versions stay.
            </>
          }
          onConfirm={() => void confirmDelete()}
          onCancel={() => setToDelete(null)}
        />
      )}
      {selected && (
        <ObjectPanel
          bucket={bucket}
          objectKey={selected}
          onClose={() => setSelected(null)}
          onChanged={refresh}
        />
      )}
    </div>
  );
}

function NewFolderModal(props: { onClose: () => void; onCreate: (name: string) => Promise<void> }) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title="New folder" onClose={props.onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await props.onCreate(name);
          } catch (err) {
            setError(errorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label className="field">
          <span>Folder name</span>
          <input name="folderName" autoFocus required value={name} onChange={(e) => setName(e.target.value)} placeholder="photos/2026" />
        </label>
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
