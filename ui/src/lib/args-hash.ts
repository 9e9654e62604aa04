import { canonicalJson } from '@higgs/schema';

/**
 * The hash an approval is bound to, computed in the browser from the arguments
 * on screen: sha256 (hex) of the canonical JSON of `{ tool, args }` (keys sorted
 * at every depth, `undefined` left out — `canonicalJson` from @higgs/schema, the
 * same function the server hashes). It mirrors `argsHash` in @higgs/tools, which
 * the UI may not import (Node crypto); the shared test vectors in
 * args-hash.test.ts keep the two equal.
 */
export async function argsHash(tool: string, args: Record<string, unknown>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson({ tool, args })));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
