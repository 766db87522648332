// The upload queue: one row per file with its progress bar and a Cancel button.

import { Progress, formatBytes } from "../../components/ui";

export interface UploadItem {
  id: number;
  key: string;
  size: number;
  loaded: number;
  state: "uploading" | "done" | "failed" | "cancelled";
  multipart: boolean;
  /** When it started (ms since the epoch), for the speed shown. */
  started: number;
  error?: string;
  cancel: () => void;
}

export function Uploads(props: { items: UploadItem[]; onClear: () => void }) {
  if (props.items.length === 0) return null;
  const active = props.items.filter((u) => u.state === "uploading").length;
  return (
    <div className="table-wrap uploads" aria-label="Uploads">
      <div className="table-foot uploads-head">
        <strong>{active > 0 ? `Uploading ${active} file${active > 1 ? "s" : ""}` : "Uploads"}</strong>
        {active === 0 && (
          <button className="btn btn-sm btn-ghost" onClick={props.onClear}>
            Clear
          </button>
        )}
      </div>
      {props.items.map((u) => {
        const pct = u.size > 0 ? (u.loaded / u.size) * 100 : u.state === "done" ? 100 : 0;
        return (
          <div className="upload-row" key={u.id} data-testid="upload-row" data-state={u.state}>
            <div>
              <div className="upload-name" title={u.key}>
                {u.key}
              </div>
              <div className="muted small">
                {formatBytes(u.loaded)} of {formatBytes(u.size)}
                {u.state === "uploading" && speed(u) && ` · ${speed(u)}`}
                {u.multipart && " · multipart"}
              </div>
            </div>
            <div className="upload-status">
              <Progress value={pct} label={`Upload of ${u.key}`} />
              <span className={"small " + (u.state === "failed" ? "error-text" : "muted")} role={u.state === "failed" ? "alert" : undefined}>
                {u.state === "uploading" && `${Math.floor(pct)}%`}
                {u.state === "done" && "Done"}
                {u.state === "cancelled" && "Cancelled"}
                {u.state === "failed" && (u.error ?? "Failed")}
              </span>
            </div>
            <div>
              {u.state === "uploading" ? (
                <button className="btn btn-sm" onClick={u.cancel}>
                  Cancel
                </button>
              ) : u.state === "done" ? (
                <span className="badge badge-ok">✓</span>
              ) : (
                <span className="badge badge-danger">{u.state === "cancelled" ? "cancelled" : "failed"}</span>
              )}
            </div>
          </div>
        );
      })}
    </div>
  );
}

function speed(u: UploadItem): string {
  const secs = (Date.now() - u.started) / 1000;
  if (secs < 0.5 || u.loaded === 0) return "";
  return `${formatBytes(u.loaded / secs)}/s`;
}
