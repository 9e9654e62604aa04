/**
 * The hash an approval is bound to, computed in the browser from the arguments
 * on screen: sha256 (hex) of the canonical JSON of `{ tool, args }` (keys sorted
 * at every depth, `undefined` left out). It mirrors `argsHash` in @higgs/tools,
 * which the UI may not import (Node crypto); the shared test vectors in
 * args-hash.test.ts keep the two equal.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export async function argsHash(tool: string, args: Record<string, unknown>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson({ tool, args })));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
