/**
 * JSON with object keys sorted at every depth and no whitespace, so equal values
 * always give the same text. Keys whose value is `undefined` are left out, as
 * JSON.stringify does. It is part of the contract of every hash Higgs binds to
 * content — an approval's `argsHash`, the audit chain, a compliance pack's
 * digest — so the browser and the server must compute it identically: hence
 * here, once, with no runtime dependency.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
