// Helpers of the buckets, identity and status specs, on the shared ones (helpers.ts):
// log in as root or as a user, open a page by its hash route, screenshots, unique names.
import { type Page } from "@playwright/test";
import { AwsClient } from "aws4fetch";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { screensDir, serverInfo } from "./env";
import { login as loginAs, loginAsRoot, screenshot } from "./helpers";

/** Logs in as root, or as `ak`/`sk`. */
export async function login(page: Page, ak?: string, sk?: string): Promise<void> {
  if (ak && sk) await loginAs(page, ak, sk);
  else await loginAsRoot(page);
}

/** Opens `route` ("/#/buckets") on the console. */
export async function go(page: Page, route: string): Promise<void> {
  await page.goto(serverInfo().consoleUrl + route);
}

export const shot = screenshot;

/** A screenshot of what the window shows (for an open dialog: a full-page shot of a
 *  scrolled page moves the fixed backdrop). */
export async function shotView(page: Page, name: string): Promise<void> {
  mkdirSync(screensDir(), { recursive: true });
  await page.screenshot({ path: join(screensDir(), `${name}.png`) });
}

let n = 0;
export function unique(prefix: string): string {
  n += 1;
  return `${prefix}-${Date.now().toString(36)}${n}${Math.floor(Math.random() * 1e4)}`;
}

/** S3 calls from the test process, signed with the root key, straight to the S3 port. */
export async function s3Root(method: string, path: string, body?: string): Promise<Response> {
  const s = serverInfo();
  const c = new AwsClient({ accessKeyId: s.accessKey, secretAccessKey: s.secretKey, service: "s3", region: "us-east-1", retries: 0 });
  const res = await c.fetch(s.s3Url + path, { method, body });
  if (!res.ok) throw new Error(`S3 ${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}
