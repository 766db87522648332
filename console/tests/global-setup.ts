// Starts a real rustfs with the console on free loopback ports and a temporary data
// directory; the function it returns (Playwright's teardown) stops it by its PID.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logsDir, rustfsBinary, screensDir, type ServerInfo } from "./env";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(url: string, pid: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let i = 0; i < 600 && Date.now() < end; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error(`rustfs (pid ${pid}) exited during start; see console-server.log`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`rustfs did not answer ${url} in ${deadlineMs} ms`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = rustfsBinary();
  if (!existsSync(bin)) throw new Error(`rustfs binary not found at ${bin}; build it or set RUSTFS_BIN`);
  mkdirSync(logsDir(), { recursive: true });
  rmSync(screensDir(), { recursive: true, force: true });
  mkdirSync(screensDir(), { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "rustfs-console-"));
  const s3Port = await freePort();
  const consolePort = await freePort();
  const info: ServerInfo = {
    consoleUrl: `http://127.0.0.1:${consolePort}`,
    s3Url: `http://127.0.0.1:${s3Port}`,
    accessKey: "consoleadmin",
    secretKey: randomBytes(12).toString("hex"),
    pid: 0,
    dataDir,
  };
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RUSTFS_")) env[k] = v;
  Object.assign(env, {
    RUSTFS_ACCESS_KEY: info.accessKey,
    RUSTFS_SECRET_KEY: info.secretKey,
    RUSTFS_ADDRESS: `127.0.0.1:${s3Port}`,
    RUSTFS_CONSOLE_ENABLE: "true",
    RUSTFS_CONSOLE_ADDRESS: `127.0.0.1:${consolePort}`,
    RUSTFS_VOLUMES: join(dataDir, "vol"),
    RUST_LOG: process.env.RUST_LOG ?? "info",
  });
  mkdirSync(join(dataDir, "vol"), { recursive: true });
  const log = createWriteStream(join(logsDir(), "console-server.log"));
  const child = spawn(bin, ["server"], { env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  if (!child.pid) throw new Error(`cannot start ${bin}`);
  info.pid = child.pid;
  process.env.RUSTFS_CONSOLE_TEST_SERVER = JSON.stringify(info);
  await waitUp(`${info.consoleUrl}/api/config`, child.pid, 60_000);
  return () => stop(info);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, up to 40 s for the graceful shutdown, then SIGKILL; then the data is removed. */
async function stop(info: ServerInfo): Promise<void> {
  if (alive(info.pid)) process.kill(info.pid, "SIGTERM");
  for (let i = 0; i < 400 && alive(info.pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(info.pid)) process.kill(info.pid, "SIGKILL");
  rmSync(info.dataDir, { recursive: true, force: true });
}
