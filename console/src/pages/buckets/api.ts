// The bucket calls the buckets pages make (S3, signed for service `s3`): list, create with
// versioning and object lock, delete, and the bucket's settings (versioning, policy,
// lifecycle, object lock default retention, tags). XML answers are read with DOMParser;
// refusals become an ApiError (src/api/xml.ts) with S3's code and message.
import { signedFetch } from '../../api/sign';
import { ApiError } from '../../api/xml';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function parseXml(text: string): Document {
  return new DOMParser().parseFromString(text, 'application/xml');
}

function childText(el: Element | Document, name: string): string | undefined {
  const found = el.getElementsByTagName(name)[0];
  return found ? (found.textContent ?? '') : undefined;
}

/** Direct children of `el` named `name`. */
function children(el: Element, name: string): Element[] {
  return Array.from(el.children).filter((c) => c.localName === name);
}

function directText(el: Element, name: string): string | undefined {
  const c = children(el, name)[0];
  return c ? (c.textContent ?? '') : undefined;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

async function s3(
  method: string,
  bucket: string,
  query: Record<string, string> = {},
  body?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const resp = await signedFetch({
    service: 's3',
    method,
    path: bucket ? `/${encodeURIComponent(bucket)}` : '/',
    query,
    headers: body !== undefined ? { 'content-type': 'application/xml', ...headers } : headers,
    body,
    // S3 wants an integrity header with lifecycle and object lock configurations.
    checksum: body !== undefined,
  });
  return resp;
}

/** An answer's XML, or null when S3 answers with `missingCode` (no such configuration). */
async function getXml(bucket: string, sub: string, missingCode: string): Promise<Document | null> {
  try {
    const resp = await s3('GET', bucket, { [sub]: '' });
    return parseXml(await resp.text());
  } catch (e) {
    if (e instanceof ApiError && e.code === missingCode) return null;
    throw e;
  }
}

// ---- buckets ---------------------------------------------------------------------------

export interface BucketEntry {
  name: string;
  created: string;
}

export async function listBuckets(): Promise<BucketEntry[]> {
  const doc = parseXml(await (await s3('GET', '')).text());
  return Array.from(doc.getElementsByTagName('Bucket')).map((b) => ({
    name: directText(b, 'Name') ?? '',
    created: directText(b, 'CreationDate') ?? '',
  }));
}

export interface NewBucket {
  name: string;
  versioning: boolean;
  objectLock: boolean;
  retention?: Retention | null;
}

export async function createBucket(spec: NewBucket): Promise<void> {
  await s3('PUT', spec.name, {}, undefined, spec.objectLock ? { 'x-amz-bucket-object-lock-enabled': 'true' } : {});
  // Object lock turns versioning on by itself.
  if (spec.versioning && !spec.objectLock) await putVersioning(spec.name, 'Enabled');
  if (spec.objectLock && spec.retention) await putObjectLock(spec.name, spec.retention);
}

export async function deleteBucket(name: string): Promise<void> {
  await s3('DELETE', name);
}

// ---- versioning ------------------------------------------------------------------------

export type Versioning = 'Unversioned' | 'Enabled' | 'Suspended';

export async function getVersioning(bucket: string): Promise<Versioning> {
  const doc = parseXml(await (await s3('GET', bucket, { versioning: '' })).text());
  const status = childText(doc, 'Status');
  return status === 'Enabled' || status === 'Suspended' ? status : 'Unversioned';
}

export async function putVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void> {
  await s3(
    'PUT',
    bucket,
    { versioning: '' },
    `<VersioningConfiguration xmlns="${NS}"><Status>${status}</Status></VersioningConfiguration>`,
  );
}

// ---- object lock -----------------------------------------------------------------------

export interface Retention {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  days?: number;
  years?: number;
}

export interface ObjectLock {
  enabled: boolean;
  retention: Retention | null;
}

export async function getObjectLock(bucket: string): Promise<ObjectLock> {
  const doc = await getXml(bucket, 'object-lock', 'ObjectLockConfigurationNotFoundError');
  if (!doc) return { enabled: false, retention: null };
  const enabled = childText(doc, 'ObjectLockEnabled') === 'Enabled';
  const mode = childText(doc, 'Mode');
  const days = childText(doc, 'Days');
  const years = childText(doc, 'Years');
  const retention =
    mode === 'GOVERNANCE' || mode === 'COMPLIANCE'
      ? { mode: mode as Retention['mode'], days: days ? Number(days) : undefined, years: years ? Number(years) : undefined }
      : null;
  return { enabled, retention };
}

/** Sets (or with null, clears) the bucket's default retention. */
export async function putObjectLock(bucket: string, retention: Retention | null): Promise<void> {
  const rule = retention
    ? `<Rule><DefaultRetention><Mode>${retention.mode}</Mode>${
        retention.years ? `<Years>${retention.years}</Years>` : `<Days>${retention.days ?? 1}</Days>`
      }</DefaultRetention></Rule>`
    : '';
  await s3(
    'PUT',
    bucket,
    { 'object-lock': '' },
    `<ObjectLockConfiguration xmlns="${NS}"><ObjectLockEnabled>Enabled</ObjectLockEnabled>${rule}</ObjectLockConfiguration>`,
  );
}

// ---- policy ----------------------------------------------------------------------------

/** The bucket policy's text, or null when the bucket has none. */
export async function getPolicy(bucket: string): Promise<string | null> {
  try {
    return await (await s3('GET', bucket, { policy: '' })).text();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'NoSuchBucketPolicy') return null;
    throw e;
  }
}

export async function putPolicy(bucket: string, policy: string): Promise<void> {
  await s3('PUT', bucket, { policy: '' }, policy, { 'content-type': 'application/json' });
}

export async function deletePolicy(bucket: string): Promise<void> {
  await s3('DELETE', bucket, { policy: '' });
}

// ---- lifecycle -------------------------------------------------------------------------

export interface LifecycleRule {
  id: string;
  prefix: string;
  enabled: boolean;
  expirationDays?: number;
  noncurrentDays?: number;
  abortDays?: number;
  /** The rule as the server sent it, when it holds more than this page edits (tags,
   *  transitions, dates): sent back unchanged unless the rule is edited. */
  original?: string;
  /** What the page does not show of the original rule, in words. */
  more?: string[];
}

const EDITED = new Set(['ID', 'Filter', 'Prefix', 'Status', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload']);

function ruleOf(r: Element): LifecycleRule {
  const filter = children(r, 'Filter')[0];
  const prefix = (filter ? directText(filter, 'Prefix') : undefined) ?? directText(r, 'Prefix') ?? '';
  const num = (parent: Element | undefined, name: string) => {
    const t = parent ? directText(parent, name) : undefined;
    return t !== undefined && t !== '' ? Number(t) : undefined;
  };
  const exp = children(r, 'Expiration')[0];
  const nce = children(r, 'NoncurrentVersionExpiration')[0];
  const abort = children(r, 'AbortIncompleteMultipartUpload')[0];
  const more: string[] = [];
  for (const c of Array.from(r.children)) {
    if (!EDITED.has(c.localName)) more.push(c.localName);
  }
  if (filter && Array.from(filter.children).some((c) => c.localName !== 'Prefix')) more.push('Filter');
  if (exp && Array.from(exp.children).some((c) => c.localName !== 'Days')) more.push('Expiration');
  if (nce && Array.from(nce.children).some((c) => c.localName !== 'NoncurrentDays')) more.push('NoncurrentVersionExpiration');
  return {
    id: directText(r, 'ID') ?? '',
    prefix,
    enabled: directText(r, 'Status') === 'Enabled',
    expirationDays: num(exp, 'Days'),
    noncurrentDays: num(nce, 'NoncurrentDays'),
    abortDays: num(abort, 'DaysAfterInitiation'),
    original: more.length ? new XMLSerializer().serializeToString(r).replace(/ xmlns="[^"]*"/, '') : undefined,
    more: more.length ? more : undefined,
  };
}

export async function getLifecycle(bucket: string): Promise<LifecycleRule[]> {
  const doc = await getXml(bucket, 'lifecycle', 'NoSuchLifecycleConfiguration');
  if (!doc) return [];
  return Array.from(doc.getElementsByTagName('Rule')).map(ruleOf);
}

function ruleXml(r: LifecycleRule): string {
  if (r.original) return r.original;
  let x = `<Rule><ID>${esc(r.id)}</ID><Filter><Prefix>${esc(r.prefix)}</Prefix></Filter><Status>${
    r.enabled ? 'Enabled' : 'Disabled'
  }</Status>`;
  if (r.expirationDays) x += `<Expiration><Days>${r.expirationDays}</Days></Expiration>`;
  if (r.noncurrentDays) x += `<NoncurrentVersionExpiration><NoncurrentDays>${r.noncurrentDays}</NoncurrentDays></NoncurrentVersionExpiration>`;
  if (r.abortDays) x += `<AbortIncompleteMultipartUpload><DaysAfterInitiation>${r.abortDays}</DaysAfterInitiation></AbortIncompleteMultipartUpload>`;
  return x + '</Rule>';
}

/** Saves the rules (none: deletes the configuration). */
export async function putLifecycle(bucket: string, rules: LifecycleRule[]): Promise<void> {
  if (rules.length === 0) {
    await s3('DELETE', bucket, { lifecycle: '' });
    return;
  }
  await s3('PUT', bucket, { lifecycle: '' }, `<LifecycleConfiguration xmlns="${NS}">${rules.map(ruleXml).join('')}</LifecycleConfiguration>`);
}

// ---- tags ------------------------------------------------------------------------------

export type Tags = { key: string; value: string }[];

export async function getTags(bucket: string): Promise<Tags> {
  const doc = await getXml(bucket, 'tagging', 'NoSuchTagSet');
  if (!doc) return [];
  return Array.from(doc.getElementsByTagName('Tag')).map((t) => ({
    key: directText(t, 'Key') ?? '',
    value: directText(t, 'Value') ?? '',
  }));
}

export async function putTags(bucket: string, tags: Tags): Promise<void> {
  if (tags.length === 0) {
    await s3('DELETE', bucket, { tagging: '' });
    return;
  }
  const set = tags.map((t) => `<Tag><Key>${esc(t.key)}</Key><Value>${esc(t.value)}</Value></Tag>`).join('');
  await s3('PUT', bucket, { tagging: '' }, `<Tagging xmlns="${NS}"><TagSet>${set}</TagSet></Tagging>`);
}
