// Bucket and object calls (S3 REST through the console's /api/s3 forward).

import { objectPath, signedFetch } from "./sign";
import { all, childText, escapeXml, kids, parseXml, text } from "./xml";

export interface Bucket {
  name: string;
  created: string;
}

export async function listBuckets(): Promise<Bucket[]> {
  const res = await signedFetch({ path: "/" });
  const doc = parseXml(await res.text());
  return all(doc, "Bucket").map((b) => ({ name: childText(b, "Name"), created: childText(b, "CreationDate") }));
}

export interface CreateBucketOptions {
  objectLock?: boolean;
}

export async function createBucket(name: string, opts: CreateBucketOptions = {}): Promise<void> {
  const headers: Record<string, string> = {};
  if (opts.objectLock) headers["x-amz-bucket-object-lock-enabled"] = "true";
  await signedFetch({ method: "PUT", path: objectPath(name), headers });
}

export async function deleteBucket(name: string): Promise<void> {
  await signedFetch({ method: "DELETE", path: objectPath(name) });
}

export interface ObjectEntry {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
  storageClass: string;
}

export interface Listing {
  prefixes: string[];
  objects: ObjectEntry[];
  nextToken: string | null;
}

/** One page of ListObjectsV2 with delimiter "/": folders (CommonPrefixes) and objects. */
export async function listObjects(
  bucket: string,
  prefix: string,
  token?: string | null,
  maxKeys = 200,
): Promise<Listing> {
  const res = await signedFetch({
    path: objectPath(bucket),
    query: {
      "list-type": "2",
      delimiter: "/",
      prefix,
      "max-keys": maxKeys,
      "continuation-token": token ?? undefined,
    },
  });
  const doc = parseXml(await res.text());
  const root = doc.documentElement;
  const truncated = childText(root, "IsTruncated") === "true";
  return {
    prefixes: kids(root, "CommonPrefixes").map((p) => childText(p, "Prefix")),
    objects: kids(root, "Contents").map((c) => ({
      key: childText(c, "Key"),
      size: Number(childText(c, "Size") || 0),
      etag: childText(c, "ETag"),
      lastModified: childText(c, "LastModified"),
      storageClass: childText(c, "StorageClass"),
    })),
    nextToken: truncated ? childText(root, "NextContinuationToken") || null : null,
  };
}

export interface ObjectDetails {
  size: number;
  etag: string;
  contentType: string;
  lastModified: string;
  versionId: string | null;
  metadata: [string, string][];
  headers: [string, string][];
}

export async function headObject(bucket: string, key: string, versionId?: string): Promise<ObjectDetails> {
  const res = await signedFetch({ method: "HEAD", path: objectPath(bucket, key), query: { versionId } });
  const metadata: [string, string][] = [];
  const headers: [string, string][] = [];
  res.headers.forEach((v, k) => {
    if (k.startsWith("x-amz-meta-")) metadata.push([k.slice("x-amz-meta-".length), v]);
    else if (
      /^(cache-control|content-encoding|content-disposition|content-language|expires|x-amz-storage-class|x-amz-server-side-encryption|x-amz-object-lock-.*|x-amz-checksum-.*)$/.test(
        k,
      )
    )
      headers.push([k, v]);
  });
  return {
    size: Number(res.headers.get("content-length") ?? 0),
    etag: res.headers.get("etag") ?? "",
    contentType: res.headers.get("content-type") ?? "",
    lastModified: res.headers.get("last-modified") ?? "",
    versionId: res.headers.get("x-amz-version-id"),
    metadata,
    headers,
  };
}

export async function deleteObject(bucket: string, key: string, versionId?: string): Promise<void> {
  await signedFetch({ method: "DELETE", path: objectPath(bucket, key), query: { versionId } });
}

/** A "folder": an empty object whose key ends in "/". */
export async function createFolder(bucket: string, prefix: string): Promise<void> {
  const key = prefix.endsWith("/") ? prefix : prefix + "/";
  await signedFetch({ method: "PUT", path: objectPath(bucket, key), body: "", headers: { "content-type": "application/x-directory" } });
}

export interface VersionEntry {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string;
  lastModified: string;
}

/** Versions and delete markers of exactly `key` (bounded: at most `limit`). */
export async function listObjectVersions(bucket: string, key: string, limit = 1000): Promise<VersionEntry[]> {
  const out: VersionEntry[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (let page = 0; page < 20 && out.length < limit; page++) {
    const res = await signedFetch({
      path: objectPath(bucket),
      query: [
        ["versions", ""],
        ["prefix", key],
        ["max-keys", "500"],
        ...(keyMarker !== undefined ? ([["key-marker", keyMarker]] as [string, string][]) : []),
        ...(versionMarker !== undefined ? ([["version-id-marker", versionMarker]] as [string, string][]) : []),
      ],
    });
    const root = parseXml(await res.text()).documentElement;
    for (const el of Array.from(root.children)) {
      if (el.localName !== "Version" && el.localName !== "DeleteMarker") continue;
      if (childText(el, "Key") !== key) continue;
      out.push({
        key,
        versionId: childText(el, "VersionId"),
        isLatest: childText(el, "IsLatest") === "true",
        deleteMarker: el.localName === "DeleteMarker",
        size: Number(childText(el, "Size") || 0),
        etag: childText(el, "ETag"),
        lastModified: childText(el, "LastModified"),
      });
    }
    if (childText(root, "IsTruncated") !== "true") break;
    keyMarker = childText(root, "NextKeyMarker");
    versionMarker = childText(root, "NextVersionIdMarker");
    if (keyMarker > key) break;
  }
  return out;
}

export type Tags = [string, string][];

export async function getObjectTagging(bucket: string, key: string, versionId?: string): Promise<Tags> {
  const res = await signedFetch({ path: objectPath(bucket, key), query: [["tagging", ""], ...(versionId ? ([["versionId", versionId]] as [string, string][]) : [])] });
  const doc = parseXml(await res.text());
  return all(doc, "Tag").map((t) => [childText(t, "Key"), childText(t, "Value")]);
}

export async function putObjectTagging(bucket: string, key: string, tags: Tags, versionId?: string): Promise<void> {
  const body =
    `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>` +
    tags.map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`).join("") +
    `</TagSet></Tagging>`;
  await signedFetch({
    method: "PUT",
    path: objectPath(bucket, key),
    query: [["tagging", ""], ...(versionId ? ([["versionId", versionId]] as [string, string][]) : [])],
    headers: { "content-type": "application/xml" },
    body,
    checksum: true,
  });
}

export async function getBucketVersioning(bucket: string): Promise<string> {
  const res = await signedFetch({ path: objectPath(bucket), query: [["versioning", ""]] });
  return text(parseXml(await res.text()), "Status");
}

// Multipart (used by upload.ts; the parts themselves go by XMLHttpRequest for progress).

export async function createMultipartUpload(bucket: string, key: string, contentType: string): Promise<string> {
  const res = await signedFetch({
    method: "POST",
    path: objectPath(bucket, key),
    query: [["uploads", ""]],
    headers: { "content-type": contentType || "application/octet-stream" },
  });
  const id = text(parseXml(await res.text()), "UploadId");
  if (!id) throw new Error("CreateMultipartUpload returned no UploadId");
  return id;
}

export async function completeMultipartUpload(
  bucket: string,
  key: string,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<void> {
  const body =
    `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`).join("") +
    `</CompleteMultipartUpload>`;
  const res = await signedFetch({
    method: "POST",
    path: objectPath(bucket, key),
    query: { uploadId },
    headers: { "content-type": "application/xml" },
    body,
  });
  // CompleteMultipartUpload may answer 200 with an <Error> document.
  const xml = await res.text();
  const doc = parseXml(xml);
  if (doc.documentElement?.localName === "Error") {
    throw new Error(`${text(doc, "Code")}: ${text(doc, "Message")}`);
  }
}

export async function abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
  await signedFetch({ method: "DELETE", path: objectPath(bucket, key), query: { uploadId } });
}
