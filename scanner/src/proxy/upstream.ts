import { Agent as HttpAgent, type OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { H2Pool, type UpstreamExchange } from './h2-pool.ts';

export type { UpstreamExchange, UpstreamResponse } from './h2-pool.ts';

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
  /** HTTP/2 connections to the providers that speak it */
  h2: H2Pool;
  /**
   * An inspected LLM request to `host:port` as the client addressed it, connected to `to` (from
   * `target()`, which the transparent listener overrides per connection): over HTTP/2 when the
   * provider negotiates it (TLS only), else HTTP/1.1 keep-alive.
   */
  send(p: { tls: boolean; host: string; port: number; to: { host: string; port: number }; method: string; path: string; headers: OutgoingHttpHeaders }): UpstreamExchange;
  close(): void;
}

export function createUpstream(hostsOverride: Record<string, string>, extraCaPem: string[]): Upstream {
  const secureContext = createSecureContext({ ca: [...rootCertificates, ...extraCaPem] });
  const overrides = new Map(Object.entries(hostsOverride).map(([k, v]) => [k.toLowerCase(), v]));
  const https = new HttpsAgent({ keepAlive: true, secureContext, ALPNProtocols: ['http/1.1'] });
  const http = new HttpAgent({ keepAlive: true });
  const h2 = new H2Pool(secureContext);
  const target = (host: string, port: number): { host: string; port: number } => {
    const o = overrides.get(host.toLowerCase());
    if (!o) return { host, port };
    const m = /^(.*?)(?::(\d+))?$/.exec(o)!;
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : port };
  };
  return {
    https,
    http,
    secureContext,
    h2,
    target,
    send({ tls, host, port, to: t, method, path, headers }) {
      if (!tls) return httpRequest({ host: t.host, port: t.port, method, path, headers, agent: http });
      const servername = isIP(host) ? '' : host;
      // secureContext is a tls.connect option the agent passes through; https.RequestOptions does not list it
      const h1Options = { host: t.host, port: t.port, method, path, headers, agent: https, servername, secureContext };
      const h1 = () => httpsRequest(h1Options);
      const name = isIP(host) === 6 ? `[${host}]` : host;
      const authority = port === 443 ? name : `${name}:${port}`;
      return h2.request({ host: t.host, port: t.port, servername, authority }, method, path, headers, h1);
    },
    close() {
      https.destroy();
      http.destroy();
      h2.close();
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
