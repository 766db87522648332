// Helpers of the buckets, identity and status specs: log in through the form, save a
// screenshot into $RUSTFS_TEST_LOGS/console-screens/, make unique names.
import { expect, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT_AK = process.env.RUSTFS_CONSOLE_TEST_ACCESS_KEY ?? "rustfsadmin";
export const ROOT_SK = process.env.RUSTFS_CONSOLE_TEST_SECRET_KEY ?? "rustfsadmin";

export async function login(page: Page, ak = ROOT_AK, sk = ROOT_SK): Promise<void> {
  await page.goto("/");
  await page.fill("input[name=accessKey]", ak);
  await page.fill("input[name=secretKey]", sk);
  await page.click("button[type=submit]");
  await expect(page.getByTestId("current-user")).toHaveText(ak);
}

export function screensDir(): string {
  const logs = process.env.RUSTFS_TEST_LOGS ?? path.join(__dirname, "..", "..", "target", "e2e-logs");
  const dir = path.join(logs, "console-screens");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screensDir(), `${name}.png`), fullPage: true });
}

let n = 0;
export function unique(prefix: string): string {
  n += 1;
  return `${prefix}-${Date.now().toString(36)}${n}${Math.floor(Math.random() * 1e4)}`;
}
