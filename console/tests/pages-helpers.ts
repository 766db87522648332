// Helpers of the buckets, identity and status specs, on the shared ones (helpers.ts):
// log in as root or as a user, open a page by its hash route, screenshots, unique names.
import { type Page } from "@playwright/test";
import { serverInfo } from "./env";
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

let n = 0;
export function unique(prefix: string): string {
  n += 1;
  return `${prefix}-${Date.now().toString(36)}${n}${Math.floor(Math.random() * 1e4)}`;
}
