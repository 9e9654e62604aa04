import { decodeRedirectOrigin, encodeRedirectClient, LAYOUTS, type Endpoint, type RedirectOrigin } from './layout.ts';
import { mapOp } from './maps.ts';
import type { NativeBinding } from './native.ts';

/**
 * The original destination of a redirected connection, from the pinned
 * `redirect_origin` map (src/redirect.bpf.h) that the connect hooks and the
 * sockops program fill: keyed by the client's address and port, which the
 * proxy sees as the peer of the connection it accepted. The entry is left in
 * place (the LRU map ages it out) so a proxy that reads it twice gets the same
 * answer.
 */
export function lookupRedirectOrigin(native: NativeBinding, fd: number, client: Endpoint): RedirectOrigin | null {
  const value = mapOp('redirect origin lookup', () => native.mapLookup(fd, encodeRedirectClient(client), LAYOUTS.higgs_redirect_origin.size));
  return value ? decodeRedirectOrigin(value) : null;
}
