/**
 * The one ClickHouse literal escaper. ClickHouse 18.16 (Debian's server) has no
 * query parameters, so every value spliced into SQL text goes through here and
 * nowhere else; `queryClickhouse` is its only caller.
 */
import { TenantError } from '../../errors.ts';

export type ClickhouseValue = string | number | boolean | null | readonly ClickhouseValue[];

const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f',
};
const NEEDS_ESCAPE = /[\\'\0\n\r\t\b\f]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Renders a value as a ClickHouse literal: strings quoted with backslash escapes
 * (a lone UTF-16 surrogate becomes U+FFFD, as UTF-8 cannot carry it), finite
 * numbers as written, booleans as 1/0, null as NULL, arrays as `[…]`.
 * @throws TenantError STORE_FAILED for a non-finite number
 */
export function literal(value: ClickhouseValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') {
    return `'${value.replace(LONE_SURROGATE, '\uFFFD').replace(NEEDS_ESCAPE, (c) => STRING_ESCAPES[c] ?? c)}'`;
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TenantError('STORE_FAILED', `cannot write ${value} as a ClickHouse literal`);
    return String(value);
  }
  return `[${value.map((v) => literal(v)).join(', ')}]`;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces each `{name}` in `sql` with `literal(params[name])`, in one pass (a
 * value is never re-scanned). A placeholder without a value, or a value without
 * a placeholder, is a programming error and throws.
 */
export function bindParams(sql: string, params: Readonly<Record<string, ClickhouseValue>>): string {
  const used = new Set<string>();
  const bound = sql.replace(PLACEHOLDER, (_m, name: string) => {
    if (!Object.hasOwn(params, name)) throw new TenantError('STORE_FAILED', `query placeholder {${name}} has no value`);
    used.add(name);
    return literal(params[name]!);
  });
  const unused = Object.keys(params).filter((k) => !used.has(k));
  if (unused.length > 0) throw new TenantError('STORE_FAILED', `query values without a placeholder: ${unused.join(', ')}`);
  return bound;
}
