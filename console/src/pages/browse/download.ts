// Downloads: a presigned GET through the console's origin, with
// response-content-disposition=attachment so the browser saves it under its name.

import { objectPath, presign } from "../../api/sign";

/** Seconds a download link lives: the browser starts it at once. */
const DOWNLOAD_EXPIRY = 300;

export function fileName(key: string): string {
  const parts = key.split("/").filter(Boolean);
  return parts[parts.length - 1] ?? "download";
}

export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function downloadUrl(bucket: string, key: string, versionId?: string): Promise<string> {
  const query: [string, string][] = [["response-content-disposition", contentDisposition(fileName(key))]];
  if (versionId) query.push(["versionId", versionId]);
  return presign({ path: objectPath(bucket, key), query, expires: DOWNLOAD_EXPIRY });
}

export async function downloadObject(bucket: string, key: string, versionId?: string): Promise<void> {
  const url = await downloadUrl(bucket, key, versionId);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName(key);
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
}
