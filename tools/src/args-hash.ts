import { createHash } from 'node:crypto';
import { canonicalJson } from '@higgs/schema';

/**
 * The hash an approval is bound to: sha256 (hex) of the canonical JSON of
 * `{ tool, args }`. Any changed argument gives a different hash.
 */
export function argsHash(tool: string, args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ tool, args })).digest('hex');
}
