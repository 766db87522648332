// Small building blocks of the buckets, identity and status pages: a modal, an error box,
// the "no permission" panel, a confirm-before-acting button, a copyable secret, a hook that
// loads data, and number formatting.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { isDenied, errorText } from '../../api/admin';

export function messageOf(e: unknown): string {
  return errorText(e);
}

/** A refusal for lack of rights, from any API. */
export function deniedError(e: unknown): boolean {
  return isDenied(e);
}

export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  testId?: string;
}) {
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === 'Escape') props.onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [props.onClose]);
  // In a portal: a dialog opened from a table cell inherits none of the cell's styles.
  return createPortal(
    <div className="modal-backdrop" onMouseDown={(ev) => ev.target === ev.currentTarget && props.onClose()}>
      <div
        className={props.wide ? 'modal modal-wide' : 'modal'}
        role="dialog"
        aria-modal="true"
        aria-label={props.title}
        data-testid={props.testId}
      >
        <div className="modal-head">
          <h2>{props.title}</h2>
          <button type="button" className="icon-btn" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        <div className="modal-body">{props.children}</div>
        {props.footer && <div className="modal-foot">{props.footer}</div>}
      </div>
    </div>,
    document.body,
  );
}

export function ErrorBox(props: { error: unknown; testId?: string }) {
  if (!props.error) return null;
  const text = typeof props.error === 'string' ? props.error : messageOf(props.error);
  return (
    <div className="alert alert-error" role="alert" data-testid={props.testId ?? 'error'}>
      {text}
    </div>
  );
}

export function Notice(props: { children: ReactNode; testId?: string }) {
  return (
    <div className="alert alert-info" role="status" data-testid={props.testId}>
      {props.children}
    </div>
  );
}

export function NoPermission(props: { what: string }) {
  return (
    <div className="c2-denied" data-testid="no-permission" role="alert">
      <div className="c2-denied-icon" aria-hidden="true">
        <svg viewBox="0 0 24 24" width="26" height="26" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
          <rect x="5" y="11" width="14" height="10" rx="2" />
          <path d="M8 11V8a4 4 0 0 1 8 0v3" />
        </svg>
      </div>
      <h2>You do not have permission</h2>
      <p>
        Your account may not {props.what}. Ask an administrator for a policy that allows it (for example{' '}
        <code>consoleAdmin</code>).
      </p>
    </div>
  );
}

/** A button that asks once more before acting. */
export function ConfirmButton(props: {
  label: string;
  confirm: string;
  onConfirm: () => Promise<void> | void;
  testId?: string;
  className?: string;
  ariaLabel?: string;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        className={props.className ?? 'btn btn-danger btn-sm'}
        data-testid={props.testId}
        aria-label={props.ariaLabel}
        onClick={() => {
          setError(null);
          setAsking(true);
        }}
      >
        {props.label}
      </button>
      {asking && (
        <Modal
          title="Please confirm"
          onClose={() => setAsking(false)}
          testId="confirm-dialog"
          footer={
            <>
              <button type="button" className="btn" onClick={() => setAsking(false)}>
                Cancel
              </button>
              <button
                type="button"
                className="btn btn-danger"
                data-testid="confirm-yes"
                disabled={busy}
                onClick={async () => {
                  setBusy(true);
                  setError(null);
                  try {
                    await props.onConfirm();
                    setAsking(false);
                  } catch (e) {
                    setError(e);
                  } finally {
                    setBusy(false);
                  }
                }}
              >
                {busy ? 'Working…' : props.label}
              </button>
            </>
          }
        >
          <p>{props.confirm}</p>
          <ErrorBox error={error} testId="confirm-error" />
        </Modal>
      )}
    </>
  );
}

/** A value shown in a read-only field with a Copy button. */
export function CopyField(props: { label: string; value: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <label className="field">
      <span>{props.label}</span>
      <div className="c2-copy">
        <input readOnly value={props.value} data-testid={props.testId} onFocus={(ev) => ev.currentTarget.select()} />
        <button
          type="button"
          className="btn btn-sm"
          data-testid={`${props.testId}-copy`}
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(props.value);
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </label>
  );
}

/** Loads with `fn`, again on `reload()`; `denied` when the server refused for lack of rights. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const load = useCallback(fn, deps);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const d = await load();
      if (mine === seq.current) {
        setData(d);
        setError(null);
      }
    } catch (e) {
      if (mine === seq.current) setError(e);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, [load]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload, denied: error !== null && deniedError(error) };
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatDate(s: string | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}

/** A random secret of `n` characters (letters and digits) for a new user. */
export function randomSecret(n = 32): string {
  const abc = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => abc[b % abc.length]).join('');
}

export function StatusPill(props: { on: boolean; onText?: string; offText?: string; testId?: string }) {
  return (
    <span className={props.on ? 'badge badge-ok' : 'badge badge-danger'} data-testid={props.testId}>
      {props.on ? (props.onText ?? 'enabled') : (props.offText ?? 'disabled')}
    </span>
  );
}

export function BucketIcon() {
  return (
    <svg className="c2-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
      <path d="M4 7h16M4 7l1.5 12h13L20 7M4 7l2-3h12l2 3" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinejoin="round" />
    </svg>
  );
}

/** Checkboxes for a set of names (policies, members); test ids `<prefix>-<name>`. */
export function CheckList(props: { all: string[]; chosen: string[]; onChange: (v: string[]) => void; prefix: string; empty?: string; label?: string }) {
  if (props.all.length === 0) return <p className="muted">{props.empty ?? 'None.'}</p>;
  return (
    <div className="c2-checks" role="group" aria-label={props.label}>
      {props.all.map((x) => (
        <label key={x}>
          <input
            type="checkbox"
            data-testid={`${props.prefix}-${x}`}
            checked={props.chosen.includes(x)}
            onChange={(ev) => props.onChange(ev.target.checked ? [...props.chosen, x] : props.chosen.filter((y) => y !== x))}
          />
          <span>{x}</span>
        </label>
      ))}
    </div>
  );
}

/** New credentials, shown once: `created-access-key`, `created-secret-key`, `created-close`. */
export function CredentialsModal(props: { title: string; accessKey: string; secretKey: string; testId: string; onClose: () => void }) {
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testId={props.testId}
      footer={
        <button type="button" className="btn btn-primary" data-testid="created-close" onClick={props.onClose}>
          Done
        </button>
      }
    >
      <div className="alert alert-warn">Copy the secret key now: it is not shown again.</div>
      <CopyField label="Access key" value={props.accessKey} testId="created-access-key" />
      <CopyField label="Secret key" value={props.secretKey} testId="created-secret-key" />
    </Modal>
  );
}
