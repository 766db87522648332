// The login page: access key + secret → STS GetSessionToken → temporary credentials.

import { useState, type FormEvent } from "react";
import { getSessionToken } from "../../api/sts";
import { errorText } from "../../api/xml";
import { setSession } from "../../session";
import { config } from "../../api/config";

export function Login() {
  const [accessKey, setAccessKey] = useState("");
  const [secretKey, setSecretKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await getSessionToken(accessKey.trim(), secretKey);
      setSecretKey("");
      setSession(s);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-screen">
      <form className="login-card" onSubmit={submit} aria-label="Log in">
        <div className="login-brand">
          <Logo />
          <div>
            <div className="login-title">RustFS</div>
            <div className="muted small">Object storage console</div>
          </div>
        </div>
        <label className="field">
          <span>Access key</span>
          <input name="accessKey" autoComplete="username" autoFocus required value={accessKey} onChange={(e) => setAccessKey(e.target.value)} />
        </label>
        <label className="field">
          <span>Secret key</span>
          <input name="secretKey" type="password" autoComplete="current-password" required value={secretKey} onChange={(e) => setSecretKey(e.target.value)} />
        </label>
        {error && (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        )}
        <button className="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
        <p className="muted small login-note">
          Your secret is used once to obtain temporary credentials (STS) valid for 12 hours; it is not stored.
          {config().version && <> · v{config().version}</>}
        </p>
      </form>
    </div>
  );
}

export function Logo(props: { size?: number }) {
  const s = props.size ?? 36;
  return (
    <svg width={s} height={s} viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#c2410c" />
      <path d="M9 22V10h8a4 4 0 0 1 0 8h-3l5 4" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
