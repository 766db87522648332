// Where things are: the repository, the binary under test, the logs and screenshots.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const CONSOLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = resolve(CONSOLE_DIR, "..");

/** $RUSTFS_BIN, else target/release/rustfs (as the e2e harness), else target/debug/rustfs. */
export function rustfsBinary(): string {
  if (process.env.RUSTFS_BIN) return process.env.RUSTFS_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(REPO_ROOT, "target");
  const release = join(target, "release", "rustfs");
  return existsSync(release) ? release : join(target, "debug", "rustfs");
}

export function logsDir(): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(REPO_ROOT, "target");
  return process.env.RUSTFS_TEST_LOGS ?? join(target, "e2e-logs");
}

export function screensDir(): string {
  return join(logsDir(), "console-screens");
}

/** What the global setup hands the tests (through the environment). */
export interface ServerInfo {
  consoleUrl: string;
  s3Url: string;
  accessKey: string;
  secretKey: string;
  pid: number;
  dataDir: string;
}

export function serverInfo(): ServerInfo {
  const raw = process.env.RUSTFS_CONSOLE_TEST_SERVER;
  if (!raw) throw new Error("the global setup did not start a server");
  return JSON.parse(raw) as ServerInfo;
}
