// SigV4 in the browser (aws4fetch's AwsV4Signer).
//
// Requests go to the console's own origin under /api/s3; the console server strips that
// prefix and hands the request to the same edge the S3 port uses. So each request is
// signed for the path WITHOUT the prefix and for this page's Host, and the edge
// verifies it unchanged. Same origin: no CORS.

import { AwsV4Signer } from "aws4fetch";
import { config } from "./config";
import { ApiError, check } from "./xml";
import { clearSession, requireCredentials, type Credentials } from "../session";

export type Service = "s3" | "iam" | "sts";
export type Query = Record<string, string | number | undefined | null> | [string, string][];

export interface SignedRequestInit {
  service?: Service;
  method?: string;
  /** Unprefixed path, already encoded: "/bucket/key" (see objectPath). */
  path: string;
  query?: Query;
  headers?: Record<string, string>;
  /** Strings and buffers are hashed into the signature unless unsignedPayload is set. */
  body?: string | ArrayBuffer | Uint8Array | Blob | null;
  /** Send `x-amz-content-sha256: UNSIGNED-PAYLOAD` (uploads). */
  unsignedPayload?: boolean;
  /** Add `x-amz-checksum-sha256` of a string/buffer body (S3 calls that need an integrity header). */
  checksum?: boolean;
  /** Defaults to the logged-in session's temporary credentials. */
  credentials?: Credentials;
  signal?: AbortSignal;
}

/** RFC 3986 percent-encoding (what SigV4 signs). */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** "/bucket/key" with each key segment encoded; "/" for no bucket. */
export function objectPath(bucket?: string, key?: string): string {
  if (!bucket) return "/";
  let p = "/" + rfc3986(bucket);
  if (key !== undefined) p += "/" + key.split("/").map(rfc3986).join("/");
  return p;
}

function queryPairs(q?: Query): [string, string][] {
  if (!q) return [];
  if (Array.isArray(q)) return q;
  return Object.entries(q)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [k, String(v)]);
}

export function queryString(pairs: [string, string][]): string {
  if (pairs.length === 0) return "";
  return "?" + pairs.map(([k, v]) => (v === "" ? rfc3986(k) : `${rfc3986(k)}=${rfc3986(v)}`)).join("&");
}

async function sha256(body: string | ArrayBuffer | Uint8Array): Promise<ArrayBuffer> {
  const data = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return crypto.subtle.digest("SHA-256", data as BufferSource);
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(buf: ArrayBuffer): string {
  let s = "";
  new Uint8Array(buf).forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s);
}

/**
 * Signs a request; returns the URL to send it to (on this origin, under /api/s3) and
 * the headers to send. Used by signedFetch and by XMLHttpRequest uploads.
 */
export async function signRequest(init: SignedRequestInit): Promise<{ url: string; headers: Headers }> {
  const creds = init.credentials ?? requireCredentials();
  const service = init.service ?? "s3";
  const method = (init.method ?? "GET").toUpperCase();
  const qs = queryString(queryPairs(init.query));
  const headers = new Headers(init.headers ?? {});
  const body = init.body ?? null;
  if (init.unsignedPayload || body instanceof Blob) {
    headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  } else if (body !== null) {
    const digest = await sha256(body);
    headers.set("x-amz-content-sha256", hex(digest));
    if (init.checksum) headers.set("x-amz-checksum-sha256", base64(digest));
  } else if (service === "s3") {
    headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  }
  const signer = new AwsV4Signer({
    url: location.origin + init.path + qs,
    method,
    headers,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    service,
    region: config().region,
  });
  const signed = await signer.sign();
  return { url: location.origin + "/api/s3" + init.path + qs, headers: signed.headers };
}

/** A signed request through the console's /api/s3 forward; the raw Response (any status). */
export async function signedFetchRaw(init: SignedRequestInit): Promise<Response> {
  const { url, headers } = await signRequest(init);
  const body = init.body ?? undefined;
  const method = (init.method ?? "GET").toUpperCase();
  return fetch(url, {
    method,
    headers,
    body: body as BodyInit | undefined,
    signal: init.signal,
    // Reads are never served from the browser's cache. Only for reads: Chromium sends
    // `Cache-Control: no-cache` with such requests, which a PUT or CreateMultipartUpload would
    // store as the object's Cache-Control.
    cache: method === "GET" || method === "HEAD" ? "no-store" : "default",
    credentials: "omit",
  });
}

/** Codes that mean the session's temporary credentials are no longer valid. */
const SESSION_ENDED = new Set(["ExpiredToken", "InvalidToken", "TokenRefreshRequired"]);

/** Ends the session when the server says its credentials expired (back to the login page). */
export function noteSessionError(e: unknown): void {
  if (e instanceof ApiError && SESSION_ENDED.has(e.code)) clearSession();
}

/** A signed request; throws ApiError (code and message from the error document) on non-2xx. */
export async function signedFetch(init: SignedRequestInit): Promise<Response> {
  try {
    return await check(await signedFetchRaw(init));
  } catch (e) {
    if (!init.credentials) noteSessionError(e);
    throw e;
  }
}

export interface PresignInit {
  method?: string;
  path: string;
  query?: Query;
  /** Seconds, at most 7 days (604800). */
  expires: number;
  /**
   * The origin the URL is for. Default: this console origin, and the URL goes through
   * /api/s3 (downloads). For share links pass the S3 endpoint (s3Endpoint()).
   */
  endpoint?: string;
  credentials?: Credentials;
}

/** A presigned URL (query-string SigV4). */
export async function presign(init: PresignInit): Promise<string> {
  const creds = init.credentials ?? requireCredentials();
  const origin = (init.endpoint ?? location.origin).replace(/\/+$/, "");
  const base = new URL(origin);
  const basePath = base.pathname.replace(/\/+$/, "");
  const pairs = queryPairs(init.query);
  pairs.push(["X-Amz-Expires", String(Math.max(1, Math.min(604800, Math.floor(init.expires))))]);
  const signer = new AwsV4Signer({
    url: base.origin + basePath + init.path + queryString(pairs),
    method: (init.method ?? "GET").toUpperCase(),
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    service: "s3",
    region: config().region,
    signQuery: true,
  });
  const signed = await signer.sign();
  const qs = queryString([...signed.url.searchParams.entries()]);
  const prefix = init.endpoint ? basePath : "/api/s3";
  return base.origin + prefix + init.path + qs;
}
