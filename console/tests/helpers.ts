// Shared steps: log in, screenshots, files of random bytes, sha256.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, type Page } from "@playwright/test";
import { screensDir, serverInfo } from "./env";

export async function login(page: Page, accessKey: string, secretKey: string): Promise<void> {
  await page.goto(serverInfo().consoleUrl + "/");
  await page.getByLabel("Access key").fill(accessKey);
  await page.getByLabel("Secret key").fill(secretKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("current-user")).toHaveText(accessKey);
}

export async function loginAsRoot(page: Page): Promise<void> {
  const s = serverInfo();
  await login(page, s.accessKey, s.secretKey);
}

/** A full-page screenshot into $RUSTFS_TEST_LOGS/console-screens/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screensDir(), { recursive: true });
  await page.screenshot({ path: join(screensDir(), `${name}.png`), fullPage: true });
}

/** A file of `size` random bytes in `dir`; returns its path and sha256. */
export function randomFile(dir: string, name: string, size: number): { path: string; sha256: string } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const h = createHash("sha256");
  const chunks: Buffer[] = [];
  const piece = 1 << 20;
  for (let off = 0; off < size; off += piece) {
    const b = randomBytes(Math.min(piece, size - off));
    h.update(b);
    chunks.push(b);
  }
  writeFileSync(path, Buffer.concat(chunks));
  return { path, sha256: h.digest("hex") };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}
