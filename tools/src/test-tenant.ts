/**
 * TEST FIXTURE — a tiny stand-in for the tenant's `POST /api/tools/:name` on a
 * real node:http server: bearer token → principal, the real registry over the
 * in-memory services, errors as `{error:{code,message}}`. Not exported.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Principal } from '@higgs/schema';
import type { ToolErrorCode } from './errors.ts';
import { createRegistry } from './registry.ts';
import { createMemoryServices, makePrincipal, type MemoryServices } from './test-fixtures.ts';

const STATUS: Record<ToolErrorCode, number> = {
  INVALID_INPUT: 400, UNKNOWN_TOOL: 404, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, APPROVAL_MISMATCH: 409, EXPIRED: 410, INTERNAL: 500,
};

export interface TestTenant {
  url: string;
  services: MemoryServices;
  /** token → principal */
  tokens: Map<string, Principal>;
  /** bodies of every request, to assert on what was sent */
  requests: Array<{ path: string; authorization: string | undefined; body: unknown }>;
  close(): Promise<void>;
}

export async function startTestTenant(): Promise<TestTenant> {
  const services = createMemoryServices();
  const registry = createRegistry(services, { logger: { error: () => {} } });
  const tokens = new Map<string, Principal>([
    ['tok-security', makePrincipal(services.tenantId, 'security')],
    ['tok-viewer', makePrincipal(services.tenantId, 'viewer')],
  ]);
  const requests: TestTenant['requests'] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const match = /^\/api\/tools\/([a-z_]+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return send(404, { error: { code: 'NOT_FOUND', message: 'no route' } });
    const principal = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!principal) return send(401, { error: { code: 'UNAUTHENTICATED', message: 'bad token' } });
    const result = await registry.call(match[1]!, body, principal);
    return result.ok ? send(200, result.output) : send(STATUS[result.error.code], { error: result.error });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    services, tokens, requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
