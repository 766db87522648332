// The admin API of the server, signed for service `s3` like every S3 call:
// - `/rustfs/admin/v1/status` and `/rustfs/admin/v1/heal` (our own: volumes, workers, heal);
// - `/rustfs/admin/v3/<op>` (MinIO's admin API with plain JSON bodies) used by src/api/iam.ts.
// Refusals come back as MinIO's JSON errors ({Code, Message}); S3-level refusals (a bad
// signature, an expired session) as S3's XML error document. Both become an ApiError (src/api/xml.ts).
import { signedFetch } from './sign';
import { ApiError } from './xml';

/** Whether an error is a refusal for lack of rights (pages show a "no permission" panel). */
export function isDenied(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403 && /AccessDenied|Access Denied/i.test(e.code + ' ' + e.message);
}

/** A readable message for any error a call raised. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface AdminRequest {
  method?: string;
  query?: Record<string, string>;
  /** A JSON value, sent as JSON. */
  body?: unknown;
  /** Text sent as it is (a policy document as the user typed it). */
  rawBody?: string;
}

/** One admin call; the answer's JSON (or null for an empty answer). */
export async function adminCall<T = unknown>(path: string, req: AdminRequest = {}): Promise<T> {
  const body = req.rawBody ?? (req.body === undefined ? undefined : JSON.stringify(req.body));
  const resp = await signedFetch({
    service: 's3',
    method: req.method ?? 'GET',
    path,
    query: req.query,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  });
  const text = await resp.text();
  return (text.trim() ? JSON.parse(text) : null) as T;
}

/** A call of MinIO's v3 admin API in its plain JSON form. */
export function v3<T = unknown>(op: string, req: AdminRequest = {}): Promise<T> {
  return adminCall<T>(`/rustfs/admin/v3/${op}`, req);
}

// ---- server status -------------------------------------------------------------------

export interface VolumeStatus {
  path: string;
  online: boolean;
  full: boolean;
  /** Filesystem size and free bytes, where the server reports them. */
  total_bytes?: number | null;
  free_bytes?: number | null;
  /** The node holding the volume (null: the node answering). */
  node?: string | null;
}

export interface WorkerStatus {
  name: string;
  state: string;
  progress: string;
  counters: Record<string, number>;
  steps: number;
  rate: number | null;
  last_error: string | null;
  last_error_ms: number | null;
  last_step_ms: number | null;
}

/** Request counters since the server started (the obs part adds them; may be missing). */
export interface Traffic {
  requests: number;
  errors: number;
  bytes_in: number;
  bytes_out: number;
}

export interface ServerStatus {
  erasure?: { data_shards: number; parity_shards: number; write_quorum: number };
  volumes: VolumeStatus[];
  metadata_backend?: string;
  metadata_replicas?: { path: string; online: boolean }[];
  workers?: WorkerStatus[];
  traffic?: Traffic;
}

export function getStatus(): Promise<ServerStatus> {
  return adminCall<ServerStatus>('/rustfs/admin/v1/status');
}

export interface HealReport {
  deep: boolean;
  objects_checked: number;
  bytes_checked: number;
  shards_damaged: number;
  shards_repaired: number;
  shards_offline: number;
  unrecoverable: number;
  replicas_resynced: number;
}

export type HealState =
  | { state: 'idle' }
  | { state: 'running'; id: number; started_ms: number; progress: HealReport }
  | { state: 'done'; id: number; started_ms: number; finished_ms: number; report: HealReport }
  | { state: 'unknown'; id: number };

export function getHeal(): Promise<HealState> {
  return adminCall<HealState>('/rustfs/admin/v1/heal');
}

/** Starts a heal pass; a pass already running is answered with 409 and is not an error here. */
export async function startHeal(deep: boolean): Promise<HealState> {
  try {
    return await adminCall<HealState>('/rustfs/admin/v1/heal', {
      method: 'POST',
      query: deep ? { deep: 'true' } : {},
    });
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return getHeal();
    throw e;
  }
}
