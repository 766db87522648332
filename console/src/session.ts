// Who is logged in: the STS temporary credentials the login page obtained.
//
// Kept in sessionStorage (one tab, gone when it closes); the long-term secret typed at
// login is never stored. Every request is signed with these credentials, so the server
// enforces exactly the logged-in user's rights. The session ends at its expiry or on logout.

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface Session extends Credentials {
  /** The long-term access key the user logged in with (shown in the top bar). */
  user: string;
  /** ISO 8601 expiry of the temporary credentials. */
  expiration: string;
}

const KEY = "rustfs.console.session";
type Listener = (s: Session | null) => void;
const listeners = new Set<Listener>();

export function getSession(): Session | null {
  let raw: string | null = null;
  try {
    raw = sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (!s.accessKeyId || !s.secretAccessKey) return null;
    if (s.expiration && Date.parse(s.expiration) <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function setSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
  listeners.forEach((l) => l(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l(null));
}

/** Called with the new session (or null) on login, logout and expiry. */
export function onSessionChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The credentials every request is signed with; throws when nobody is logged in. */
export function requireCredentials(): Credentials {
  const s = getSession();
  if (!s) {
    clearSession();
    throw new Error("Your session has ended; log in again.");
  }
  return s;
}
