// IAM calls from the test process (node + aws4fetch, signed with the root key, straight
// to the S3 port): used to make a user until the identity pages can be driven instead.

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

/** A user with MinIO's canned `readonly` policy and an access key; returns the key pair. */
export async function readonlyUser(name: string): Promise<{ accessKey: string; secretKey: string }> {
  await iam("CreateUser", { UserName: name });
  await iam("AttachUserPolicy", { UserName: name, PolicyArn: "arn:aws:iam:::policy/readonly" });
  const xml = await iam("CreateAccessKey", { UserName: name });
  return { accessKey: tag(xml, "AccessKeyId"), secretKey: tag(xml, "SecretAccessKey") };
}
