import { type ClientRequestArgs, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

/**
 * An https.Agent that reaches every host through an HTTP proxy with CONNECT:
 * the AWS SDK's Node handler takes an agent, not a proxy URL.
 *
 * @example new NodeHttpHandler({ httpsAgent: new ConnectProxyAgent(new URL(proxyUrl), { ca }) })
 */
export class ConnectProxyAgent extends HttpsAgent {
  constructor(private readonly proxy: URL, opts: AgentOptions) {
    super({ keepAlive: true, ...opts });
  }

  override createConnection(options: ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void): undefined {
    const authority = `${options.host ?? options.hostname ?? ''}:${options.port ?? 443}`;
    const req = httpRequest({ host: this.proxy.hostname, port: Number(this.proxy.port), method: 'CONNECT', path: authority });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) return cb?.(new Error(`proxy CONNECT ${authority}: ${res.statusCode}`), socket);
      cb?.(null, tlsConnect({ socket, servername: options.host ?? '', ca: this.options.ca }));
    });
    req.once('error', (err) => cb?.(err, req.socket!));
    req.end();
    return undefined;
  }
}
