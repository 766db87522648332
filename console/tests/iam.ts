// Calls from the test process (node + aws4fetch, signed with the root key, straight to
// the S3 port): IAM users, and objects made in bulk.

import { AwsClient } from "aws4fetch";
import { serverInfo } from "./env";

function root(): AwsClient {
  const s = serverInfo();
  return new AwsClient({ accessKeyId: s.accessKey, secretAccessKey: s.secretKey, service: "iam", region: "us-east-1", retries: 0 });
}

export async function iam(action: string, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ Action: action, Version: "2010-05-08", ...params }).toString();
  const res = await root().fetch(serverInfo().s3Url + "/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${action}: ${res.status} ${text}`);
  return text;
}

function tag(xml: string, name: string): string {
  const m = xml.match(new RegExp(`<${name}>([^<]*)</${name}>`));
  return m ? m[1] : "";
}

/** PUT of a small object straight to the S3 port, signed with the root key. */
export async function putObject(bucket: string, key: string, body: string): Promise<void> {
  const s = serverInfo();
  const c = new AwsClient({ accessKeyId: s.accessKey, secretAccessKey: s.secretKey, service: "s3", region: "us-east-1", retries: 0 });
  const path = key.split("/").map(encodeURIComponent).join("/");
  const res = await c.fetch(`${s.s3Url}/${bucket}/${path}`, { method: "PUT", body });
  if (!res.ok) throw new Error(`PUT ${key}: ${res.status} ${await res.text()}`);
}

/** The multipart uploads in progress in `bucket` (their keys). */
export async function listUploads(bucket: string): Promise<string[]> {
  const s = serverInfo();
  const c = new AwsClient({ accessKeyId: s.accessKey, secretAccessKey: s.secretKey, service: "s3", region: "us-east-1", retries: 0 });
  const res = await c.fetch(`${s.s3Url}/${bucket}?uploads`);
  const xml = await res.text();
  if (!res.ok) throw new Error(`ListMultipartUploads: ${res.status} ${xml}`);
  return [...xml.matchAll(/<Upload>.*?<Key>([^<]*)<\/Key>/gs)].map((m) => m[1]);
}

/** A user with MinIO's canned `readonly` policy and an access key; returns the key pair. */
export async function readonlyUser(name: string): Promise<{ accessKey: string; secretKey: string }> {
  await iam("CreateUser", { UserName: name });
  await iam("AttachUserPolicy", { UserName: name, PolicyArn: "arn:aws:iam:::policy/readonly" });
  const xml = await iam("CreateAccessKey", { UserName: name });
  return { accessKey: tag(xml, "AccessKeyId"), secretKey: tag(xml, "SecretAccessKey") };
}
