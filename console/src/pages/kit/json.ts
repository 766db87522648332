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

/** Where `text` stops being JSON: the offset of the first bad character and what was
 *  expected there (browsers' JSON.parse messages do not always say where). */
export function findJsonError(text: string): { pos: number; expected: string } | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (expected: string): never => {
    throw { pos: i, expected };
  };
  const str = () => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('four hex digits after \\u');
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i])) i++;
        else fail('an escape such as \\n or \\"');
      } else if (c < ' ') fail('no control character inside a string (a closing quote?)');
      else i++;
    }
    fail('a closing quote');
  };
  const value = (depth: number): void => {
    if (depth > 200) fail('less nesting');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a property name in double quotes');
        str();
        ws();
        if (text[i] !== ':') fail("':' after the property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("',' or '}'");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("',' or ']'");
      }
    } else if (c === '"') str();
    else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) fail('a number');
      i += m![0].length;
    } else {
      for (const lit of ['true', 'false', 'null']) {
        if (text.startsWith(lit, i)) {
          i += lit.length;
          return;
        }
      }
      fail(c === undefined ? 'more input (the text ends too early)' : 'a value (object, list, string, number, true, false, null)');
    }
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('nothing more after the end of the document');
    return null;
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'pos' in e) return e as { pos: number; expected: string };
    throw e;
  }
}

/** Parses `text`; a syntax error comes back with its line and column. */
export function parseJson(text: string): { value?: unknown; problem?: JsonProblem } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const found = findJsonError(text);
    if (found) {
      const { line, column } = lineColumn(text, found.pos);
      const near = text.slice(found.pos, found.pos + 12).split('\n')[0];
      return {
        problem: {
          message: `Invalid JSON at line ${line}, column ${column}: expected ${found.expected}${near ? `, found "${near}"` : ''}.`,
          line,
          column,
        },
      };
    }
    return { problem: { message: `Invalid JSON: ${e instanceof Error ? e.message : String(e)}` } };
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
