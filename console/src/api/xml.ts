// XML answers (S3, IAM, STS) parsed with DOMParser, and their error documents turned
// into readable messages.

export function parseXml(text: string): Document {
  return new DOMParser().parseFromString(text, "application/xml");
}

/** Elements named `tag` below `node` (any namespace, any depth). */
export function all(node: ParentNode | null | undefined, tag: string): Element[] {
  if (!node) return [];
  const el = node as Element | Document;
  return Array.from(el.getElementsByTagNameNS("*", tag));
}

/** Direct children named `tag`. */
export function kids(node: Element | Document | null | undefined, tag: string): Element[] {
  if (!node) return [];
  return Array.from(node.children).filter((c) => c.localName === tag);
}

/** Text of the first element named `tag` below `node`, or "" . */
export function text(node: ParentNode | null | undefined, tag: string): string {
  const e = all(node, tag)[0];
  return e?.textContent ?? "";
}

/** Text of the first direct child named `tag`, or "". */
export function childText(node: Element | null | undefined, tag: string): string {
  if (!node) return "";
  return kids(node, tag)[0]?.textContent ?? "";
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** An error answer: S3's <Error>, IAM/STS's <ErrorResponse>, or the admin API's JSON. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(code ? `${code}: ${message}` : message);
    this.name = "ApiError";
  }
  /** The server's message without the code. */
  get detail(): string {
    const i = this.message.indexOf(": ");
    return this.code && i >= 0 ? this.message.slice(i + 2) : this.message;
  }
}

export function errorFromBody(status: number, body: string, statusText = ""): ApiError {
  const trimmed = body.trim();
  if (trimmed.startsWith("<")) {
    const doc = parseXml(trimmed);
    const code = text(doc, "Code");
    const message = text(doc, "Message");
    if (code || message) return new ApiError(status, code, message || defaultMessage(status));
  } else if (trimmed.startsWith("{")) {
    try {
      const j = JSON.parse(trimmed) as Record<string, unknown>;
      const code = String(j.Code ?? j.code ?? "");
      const message = String(j.Message ?? j.message ?? j.error ?? "");
      if (code || message) return new ApiError(status, code, message || defaultMessage(status));
    } catch {
      // not JSON after all
    }
  }
  const code = statusCode(status);
  return new ApiError(status, code, trimmed.slice(0, 200) || statusText || defaultMessage(status));
}

/** Throws an ApiError for a non-2xx answer; returns the response otherwise. */
export async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  const body = await res.text().catch(() => "");
  throw errorFromBody(res.status, body, res.statusText);
}

function statusCode(status: number): string {
  switch (status) {
    case 403:
      return "AccessDenied";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    default:
      return "";
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 403:
      return "Access denied";
    case 404:
      return "Not found";
    default:
      return `HTTP ${status}`;
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
