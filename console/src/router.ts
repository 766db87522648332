// The hash router: "#/buckets/photos" → path "/buckets/photos". Route patterns use
// ":name" for one segment and a trailing "*" for the rest (kept raw, "/" included).

import { useEffect, useState } from "react";

export function currentPath(): string {
  const h = location.hash.replace(/^#/, "");
  return h.startsWith("/") ? h : "/" + h;
}

export function useHashPath(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const on = () => setPath(currentPath());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return path;
}

export function navigate(path: string): void {
  location.hash = "#" + path;
}

/** A link target for a path whose segments are encoded by the caller (see seg). */
export function href(path: string): string {
  return "#" + path;
}

/** Encodes one path segment for a hash route. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

export type Params = Record<string, string>;

/** Matches `path` against `pattern`; the captured segments decoded. */
export function matchRoute(pattern: string, path: string): Params | null {
  const pp = pattern.split("/").filter(Boolean);
  const raw = path.replace(/^\/+/, "").split("/");
  const params: Params = {};
  for (let i = 0; i < pp.length; i++) {
    const p = pp[i];
    if (p === "*") {
      params.rest = raw.slice(i).map(safeDecode).join("/");
      return params;
    }
    const x = raw[i];
    if (x === undefined || x === "") return null;
    if (p.startsWith(":")) params[p.slice(1)] = safeDecode(x);
    else if (p !== x) return null;
  }
  return raw.filter(Boolean).length === pp.length ? params : null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
