// JSON checks for the policy editors: a parse error with its line and column, and the
// policy's shape (Version, Statement with Effect/Action/Resource) before it is sent; the
// server's own MalformedPolicy message is shown for what only it can tell.

export interface JsonProblem {
  message: string;
  line?: number;
  column?: number;
}

/** Line and column (1-based) of character offset `pos` in `text`. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(pos, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/** Parses `text`; a syntax error comes back with its line and column. */
export function parseJson(text: string): { value?: unknown; problem?: JsonProblem } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    let line: number | undefined;
    let column: number | undefined;
    const lc = /line (\d+) column (\d+)/.exec(msg);
    const pos = /position (\d+)/.exec(msg);
    if (lc) {
      line = Number(lc[1]);
      column = Number(lc[2]);
    } else if (pos) {
      ({ line, column } = lineColumn(text, Number(pos[1])));
    } else if (/end of (JSON|data) input/i.test(msg)) {
      ({ line, column } = lineColumn(text, text.length));
    }
    const bare = msg.replace(/^JSON\.parse: /, '').replace(/ in JSON at position \d+.*$/, '');
    return {
      problem: {
        message: line !== undefined ? `Invalid JSON at line ${line}, column ${column}: ${bare}` : `Invalid JSON: ${bare}`,
        line,
        column,
      },
    };
  }
}

/** Checks a policy document's shape; the first problem found, or null. */
export function checkPolicy(text: string, opts: { needPrincipal?: boolean } = {}): JsonProblem | null {
  if (!text.trim()) return { message: 'The policy is empty.' };
  const { value, problem } = parseJson(text);
  if (problem) return problem;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { message: 'A policy is a JSON object with "Version" and "Statement".' };
  }
  const doc = value as Record<string, unknown>;
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
    return { message: `"Version" must be "2012-10-17" (found ${JSON.stringify(doc.Version)}).` };
  }
  const st = doc.Statement;
  const list = Array.isArray(st) ? st : st && typeof st === 'object' ? [st] : null;
  if (!list || list.length === 0) return { message: 'The policy needs a "Statement": an object or a non-empty list.' };
  for (const [i, s] of list.entries()) {
    const n = `Statement ${i + 1}`;
    if (typeof s !== 'object' || s === null) return { message: `${n} is not an object.` };
    const o = s as Record<string, unknown>;
    if (o.Effect !== 'Allow' && o.Effect !== 'Deny') return { message: `${n}: "Effect" must be "Allow" or "Deny".` };
    if (o.Action === undefined && o.NotAction === undefined) return { message: `${n}: "Action" is missing.` };
    if (o.Resource === undefined && o.NotResource === undefined) return { message: `${n}: "Resource" is missing.` };
    if (opts.needPrincipal && o.Principal === undefined && o.NotPrincipal === undefined) {
      return { message: `${n}: a bucket policy statement needs a "Principal".` };
    }
  }
  return null;
}
