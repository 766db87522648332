// Uploads from the browser with progress: XMLHttpRequest (its upload.onprogress moves the
// bar smoothly), signed with UNSIGNED-PAYLOAD. Files above MULTIPART_THRESHOLD go
// multipart: CreateMultipartUpload, parts of PART_SIZE (bigger for files whose parts
// would pass 10,000), PARALLEL_PARTS in flight, CompleteMultipartUpload;
// AbortMultipartUpload when a part fails or the user cancels.

import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload } from "./s3";
import { noteSessionError, objectPath, signRequest } from "./sign";
import { ApiError, errorFromBody } from "./xml";

export const MULTIPART_THRESHOLD = 32 * 1024 * 1024;
export const PART_SIZE = 16 * 1024 * 1024;
export const PARALLEL_PARTS = 4;
const MAX_PARTS = 10000;
/** Tries per part (a network error or a 5xx answer is retried). */
const PART_TRIES = 3;

export type ProgressFn = (loaded: number, total: number) => void;

export interface UploadHandle {
  done: Promise<void>;
  cancel: () => void;
}

export class CancelledError extends Error {
  constructor() {
    super("Upload cancelled");
    this.name = "CancelledError";
  }
}

/** The part size for a file of `size` bytes: PART_SIZE, or the MiB multiple that keeps parts ≤ 10,000. */
export function partSizeFor(size: number): number {
  const mib = 1024 * 1024;
  const needed = Math.ceil(size / MAX_PARTS / mib) * mib;
  return Math.max(PART_SIZE, needed);
}

export function uploadFile(bucket: string, key: string, file: Blob, onProgress: ProgressFn): UploadHandle {
  const ctl = new Controller();
  const contentType = file.type || "application/octet-stream";
  const done =
    file.size > MULTIPART_THRESHOLD
      ? multipart(bucket, key, file, contentType, onProgress, ctl)
      : putObject(bucket, key, file, contentType, onProgress, ctl);
  return { done, cancel: () => ctl.cancel() };
}

/** Tracks the requests in flight so a cancel aborts them all. */
class Controller {
  cancelled = false;
  private xhrs = new Set<XMLHttpRequest>();
  add(x: XMLHttpRequest) {
    this.xhrs.add(x);
  }
  remove(x: XMLHttpRequest) {
    this.xhrs.delete(x);
  }
  cancel() {
    this.cancelled = true;
    this.xhrs.forEach((x) => x.abort());
    this.xhrs.clear();
  }
  check() {
    if (this.cancelled) throw new CancelledError();
  }
}

interface XhrResult {
  etag: string;
}

/** One signed PUT by XMLHttpRequest; `onBytes` gets the bytes sent so far. */
async function xhrPut(
  path: string,
  query: [string, string][],
  body: Blob,
  headers: Record<string, string>,
  onBytes: (n: number) => void,
  ctl: Controller,
): Promise<XhrResult> {
  ctl.check();
  const signed = await signRequest({ method: "PUT", path, query, headers, unsignedPayload: true });
  ctl.check();
  return new Promise<XhrResult>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    ctl.add(xhr);
    xhr.open("PUT", signed.url);
    signed.headers.forEach((v, k) => {
      if (k !== "host" && k !== "content-length") xhr.setRequestHeader(k, v);
    });
    xhr.upload.onprogress = (e) => onBytes(e.loaded);
    xhr.onload = () => {
      ctl.remove(xhr);
      if (xhr.status >= 200 && xhr.status < 300) {
        onBytes(body.size);
        resolve({ etag: xhr.getResponseHeader("ETag") ?? "" });
      } else {
        const err = errorFromBody(xhr.status, xhr.responseText ?? "", xhr.statusText);
        noteSessionError(err);
        reject(err);
      }
    };
    xhr.onerror = () => {
      ctl.remove(xhr);
      reject(new ApiError(0, "NetworkError", "the connection to the server failed"));
    };
    xhr.onabort = () => {
      ctl.remove(xhr);
      reject(new CancelledError());
    };
    xhr.send(body);
  });
}

async function putObject(
  bucket: string,
  key: string,
  file: Blob,
  contentType: string,
  onProgress: ProgressFn,
  ctl: Controller,
): Promise<void> {
  onProgress(0, file.size);
  await xhrPut(objectPath(bucket, key), [], file, { "content-type": contentType }, (n) => onProgress(n, file.size), ctl);
  onProgress(file.size, file.size);
}

async function multipart(
  bucket: string,
  key: string,
  file: Blob,
  contentType: string,
  onProgress: ProgressFn,
  ctl: Controller,
): Promise<void> {
  const size = file.size;
  const partSize = partSizeFor(size);
  const count = Math.max(1, Math.ceil(size / partSize));
  onProgress(0, size);
  const uploadId = await createMultipartUpload(bucket, key, contentType);
  const path = objectPath(bucket, key);
  const sent = new Array<number>(count).fill(0);
  const etags = new Array<string>(count).fill("");
  const report = () => onProgress(Math.min(size, sent.reduce((a, b) => a + b, 0)), size);
  let next = 0;
  let failure: unknown = null;

  async function worker(): Promise<void> {
    while (failure === null && !ctl.cancelled && next < count) {
      const i = next++;
      const blob = file.slice(i * partSize, Math.min(size, (i + 1) * partSize));
      for (let attempt = 1; ; attempt++) {
        try {
          const r = await xhrPut(
            path,
            [
              ["partNumber", String(i + 1)],
              ["uploadId", uploadId],
            ],
            blob,
            {},
            (n) => {
              sent[i] = n;
              report();
            },
            ctl,
          );
          etags[i] = r.etag;
          break;
        } catch (e) {
          sent[i] = 0;
          report();
          const retriable = e instanceof ApiError && (e.status === 0 || e.status >= 500);
          if (!retriable || attempt >= PART_TRIES || ctl.cancelled) throw e;
        }
      }
    }
  }

  try {
    const workers = Array.from({ length: Math.min(PARALLEL_PARTS, count) }, () =>
      worker().catch((e) => {
        if (failure === null) failure = e;
        ctl.cancel();
      }),
    );
    await Promise.all(workers);
    if (failure !== null) throw failure;
    ctl.check();
    await completeMultipartUpload(
      bucket,
      key,
      uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    onProgress(size, size);
  } catch (e) {
    // Best effort: the server's stale-upload expiry removes what this leaves.
    await abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
    throw failure instanceof Error && !(failure instanceof CancelledError) ? failure : e;
  }
}
