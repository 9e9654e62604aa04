import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** Where to really connect for a host, and the keep-alive agents that do it. */
export interface Upstream {
  https: HttpsAgent;
  http: HttpAgent;
  /** the connect address for host:port (hostsOverride, else the host itself, resolved by DNS) */
  target(host: string, port: number): { host: string; port: number };
  /**
   * One TLS context trusting the system store plus the configured extra CAs,
   * built once: passing the CA list per request made every request hash ~150
   * certificates into the agent's pool key and every upstream connection parse
   * them into a context of its own (~1 MB each).
   */
  secureContext: SecureContext;
  close(): void;
}

export function createUpstream(hostsOverride: Record<string, string>, extraCaPem: string[]): Upstream {
  const secureContext = createSecureContext({ ca: [...rootCertificates, ...extraCaPem] });
  const overrides = new Map(Object.entries(hostsOverride).map(([k, v]) => [k.toLowerCase(), v]));
  const https = new HttpsAgent({ keepAlive: true, secureContext, ALPNProtocols: ['http/1.1'] });
  const http = new HttpAgent({ keepAlive: true });
  return {
    https,
    http,
    secureContext,
    target(host, port) {
      const o = overrides.get(host.toLowerCase());
      if (!o) return { host, port };
      const m = /^(.*?)(?::(\d+))?$/.exec(o)!;
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : port };
    },
    close() {
      https.destroy();
      http.destroy();
    },
  };
}

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus the proxy's own. */
export const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** The end-to-end headers of a message (Node's lower-case header object), for the next hop. Runs twice per proxied call. */
export function forwardHeaders(headers: NodeJS.Dict<string | string[]>): Record<string, string | string[]> {
  // `Connection: keep-alive` is the usual case and names no header: no set to build
  const connection = headers.connection;
  const connectionListed = connection && connection !== 'keep-alive' && connection !== 'close'
    ? new Set(String(connection).toLowerCase().split(',').map((s) => s.trim()).filter(Boolean))
    : null;
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || connectionListed?.has(k)) continue;
    out[k] = v;
  }
  return out;
}
