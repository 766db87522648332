// The console's shell: login gate, left navigation, top bar, and the hash router's
// route table. Pages register here with one line each.

import { useEffect, useState, type ReactNode } from "react";
import { clearSession, getSession, onSessionChange, type Session } from "./session";
import { matchRoute, useHashPath, type Params } from "./router";
import { Login, Logo } from "./pages/login/Login";
import { Placeholder } from "./pages/Placeholder";
import { BucketPicker } from "./pages/browse/BucketPicker";
import { Browser } from "./pages/browse/Browser";
import { config } from "./api/config";
import Buckets from "./pages/buckets/Buckets";
import BucketSettings from "./pages/buckets/BucketSettings";
import Users from "./pages/identity/Users";
import Groups from "./pages/identity/Groups";
import Policies from "./pages/identity/Policies";
import Keys from "./pages/identity/Keys";
import Status from "./pages/status/Status";

export interface RouteDef {
  /** "/buckets/:name"; a trailing "*" captures the rest as params.rest. */
  path: string;
  title: string;
  render: (p: Params) => ReactNode;
}

/** The route table: the first match wins. */
export const routes: RouteDef[] = [
  { path: "/browse/:bucket/*", title: "Object browser", render: (p) => <Browser bucket={p.bucket} prefix={p.rest ?? ""} /> },
  { path: "/browse", title: "Object browser", render: () => <BucketPicker /> },
  // console2: buckets list and settings, identity pages, status.
  { path: "/buckets", title: "Buckets", render: () => <Buckets /> },
  { path: "/buckets/:name", title: "Bucket settings", render: (p) => <BucketSettings key={p.name} bucket={p.name} /> },
  { path: "/identity/users", title: "Users", render: () => <Users /> },
  { path: "/identity/groups", title: "Groups", render: () => <Groups /> },
  { path: "/identity/policies", title: "Policies", render: () => <Policies /> },
  { path: "/identity/keys", title: "Access keys", render: () => <Keys /> },
  { path: "/identity/keys/:user", title: "Access keys", render: (p) => <Keys key={p.user} user={p.user} /> },
  { path: "/status", title: "Status", render: () => <Status /> },
];

export const DEFAULT_ROUTE = "/buckets";

interface NavItem {
  label: string;
  href: string;
  /** The path prefix that marks this item active. */
  match: string;
  icon: ReactNode;
}

const NAV: { section: string; items: NavItem[] }[] = [
  {
    section: "Storage",
    items: [
      { label: "Buckets", href: "/buckets", match: "/buckets", icon: <Icon d="M4 7h16M4 7l1.5 12h13L20 7M4 7l2-3h12l2 3" /> },
      { label: "Object browser", href: "/browse", match: "/browse", icon: <Icon d="M3 6h7l2 2h9v11H3z" /> },
    ],
  },
  {
    section: "Identity",
    items: [
      { label: "Users", href: "/identity/users", match: "/identity/users", icon: <Icon d="M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8c0-3.5 3-6 7-6s7 2.5 7 6" /> },
      { label: "Groups", href: "/identity/groups", match: "/identity/groups", icon: <Icon d="M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm7 0a3 3 0 1 0 0-6M3 20c0-3 2.7-5 6-5s6 2 6 5m2-5c2.5 0 4 2 4 5" /> },
      { label: "Policies", href: "/identity/policies", match: "/identity/policies", icon: <Icon d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z" /> },
      { label: "Access keys", href: "/identity/keys", match: "/identity/keys", icon: <Icon d="M14 10a4 4 0 1 0-3.5 4L13 16.5V19h2.5v-2.5H18V14l-4-4z" /> },
    ],
  },
  {
    section: "Monitoring",
    items: [{ label: "Status", href: "/status", match: "/status", icon: <Icon d="M3 12h4l3-7 4 14 3-7h4" /> }],
  },
];

function Icon(props: { d: string }) {
  return (
    <svg className="nav-icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path d={props.d} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

function resolve(path: string): { def: RouteDef; params: Params } | null {
  for (const def of routes) {
    const params = matchRoute(def.path, path);
    if (params) return { def, params };
  }
  return null;
}

export function App() {
  const [session, setSessionState] = useState<Session | null>(getSession());
  const hashPath = useHashPath();
  // No route in the URL: the default page, shown at once; the URL is corrected without a
  // navigation (and only if nothing else set a route meanwhile).
  const path = hashPath === "/" || hashPath === "" ? DEFAULT_ROUTE : hashPath;

  useEffect(() => onSessionChange(setSessionState), []);
  // End the session at its expiry.
  useEffect(() => {
    if (!session?.expiration) return;
    const ms = Date.parse(session.expiration) - Date.now();
    if (!Number.isFinite(ms)) return;
    const t = window.setTimeout(() => clearSession(), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => window.clearTimeout(t);
  }, [session]);

  const hit = session ? resolve(path) : null;
  useTitle(session ? (hit?.def.title ?? "Not found") : "Log in");
  useEffect(() => {
    if (session && path !== hashPath && (location.hash === "" || location.hash === "#" || location.hash === "#/")) {
      history.replaceState(null, "", "#" + DEFAULT_ROUTE);
    }
  }, [session, path, hashPath]);

  if (!session) return <Login />;

  return (
    <div className="shell">
      <aside className="sidebar">
        <a className="brand" href={"#" + DEFAULT_ROUTE}>
          <Logo size={28} />
          <span>RustFS</span>
        </a>
        <nav aria-label="Main">
          {NAV.map((s) => (
            <div className="nav-section" key={s.section}>
              <div className="nav-section-title">{s.section}</div>
              {s.items.map((it) => (
                <a key={it.href} href={"#" + it.href} className={"nav-item" + (path === it.match || path.startsWith(it.match + "/") ? " active" : "")}>
                  {it.icon}
                  <span>{it.label}</span>
                </a>
              ))}
            </div>
          ))}
        </nav>
        <div className="sidebar-foot muted small">{config().version ? `RustFS ${config().version}` : "RustFS"}</div>
      </aside>
      <div className="main">
        <header className="topbar">
          <div className="topbar-title">{hit?.def.title ?? "Not found"}</div>
          <div className="topbar-user">
            <span className="avatar" aria-hidden="true">
              {session.user.slice(0, 1).toUpperCase()}
            </span>
            <span className="user-name" data-testid="current-user">
              {session.user}
            </span>
            <span className="muted small" title={session.expiration}>
              session until {new Date(session.expiration).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}
            </span>
            <button className="btn btn-ghost" onClick={() => clearSession()}>
              Log out
            </button>
          </div>
        </header>
        <main className="content">{hit ? hit.def.render(hit.params) : <Placeholder title="Page not found" />}</main>
      </div>
    </div>
  );
}

function useTitle(title?: string) {
  useEffect(() => {
    document.title = title ? `${title} · RustFS` : "RustFS Console";
  }, [title]);
}
