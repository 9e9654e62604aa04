import { ScannerError } from '../errors.ts';

/**
 * Deeper than any provider or MCP server nests its JSON. `JSON.parse` accepts
 * 200 000 levels in a few hundred KB, where a recursive walk overflows the
 * stack: a RangeError thrown from a response handler took the scanner down.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Calls `f` on every string in `v`, in document order, without recursion.
 * Returns false, having stopped, when `v` nests deeper than MAX_JSON_DEPTH:
 * not every string in it could be read.
 */
export function forEachString(v: unknown, f: (s: string) => void): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: v, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      f(value);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return false;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ value: children[i], depth: depth + 1 });
  }
  return true;
}

/**
 * `v` with every string replaced by `f(string)`, keys and other values as they
 * are. Throws a ScannerError `JSON_TOO_DEEP` past MAX_JSON_DEPTH, which also
 * bounds its recursion.
 */
export function mapStrings(v: unknown, f: (s: string) => string, depth = 0): unknown {
  if (typeof v === 'string') return f(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_JSON_DEPTH) throw new ScannerError('JSON_TOO_DEEP', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f, depth + 1)]));
}

/**
 * `JSON.stringify(v)` for a value recorded as text (a tool call's arguments in an answer), or a marker
 * where it nests too deeply for that (a RangeError from the stack): the rest of the answer is still read.
 */
export function jsonText(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch (err) {
    if (err instanceof RangeError) return '…[higgs: JSON nested too deeply to record]';
    throw err;
  }
}
