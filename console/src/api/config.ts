// GET /api/config: what the console's server tells the front-end.

export interface ConsoleConfig {
  /** RUSTFS_SERVER_URL, the S3 endpoint as clients see it; null when not set. */
  s3_url: string | null;
  /** The S3 listener's port, for building the endpoint when s3_url is null. */
  s3_port: number | null;
  region: string;
  version: string;
}

let cached: ConsoleConfig | null = null;

export async function loadConfig(): Promise<ConsoleConfig> {
  if (cached) return cached;
  let cfg: ConsoleConfig = { s3_url: null, s3_port: null, region: "us-east-1", version: "" };
  try {
    const res = await fetch("/api/config", { cache: "no-store" });
    if (res.ok) cfg = { ...cfg, ...((await res.json()) as Partial<ConsoleConfig>) };
  } catch {
    // keep the defaults
  }
  if (!cfg.region) cfg.region = "us-east-1";
  cached = cfg;
  return cfg;
}

export function config(): ConsoleConfig {
  return cached ?? { s3_url: null, s3_port: null, region: "us-east-1", version: "" };
}

/** The S3 endpoint for links given to others (share links): s3_url, else this host on the S3 port. */
export function s3Endpoint(): string {
  const c = config();
  if (c.s3_url) return c.s3_url.replace(/\/+$/, "");
  const port = c.s3_port ?? 9000;
  return `${location.protocol}//${location.hostname}:${port}`;
}
