import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { CompiledPolicy } from '../rules/index.ts';
import { normalizeIp, type WorkloadSource } from '../workloads/index.ts';

/** Body of `GET /api/policy?src_ip=…`: what the proxy would do with traffic from that address. */
export interface SourceVerdict {
  src_ip: string;
  workload: { namespace: string; app: string; mode: 'observe' | 'enforce' | null } | null;
  quarantined: boolean;
  verdict: 'allow' | 'block';
  policyVersion: string | null;
}

/** The verdict for one source address under the current policy. */
export function verdictFor(ip: string, workloads: WorkloadSource, policy: CompiledPolicy | null): SourceVerdict {
  const src = normalizeIp(ip);
  const workload = workloads.resolve(src);
  const quarantined = policy?.isQuarantined(workload?.namespace ?? null) ?? false;
  return { src_ip: src, workload, quarantined, verdict: quarantined ? 'block' : 'allow', policyVersion: policy?.version ?? null };
}

/** The localhost policy endpoint (always bound to 127.0.0.1). */
export async function startPolicyEndpoint(port: number, workloads: WorkloadSource, policy: () => CompiledPolicy | null): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname !== '/api/policy') return send(404, { error: { code: 'NOT_FOUND', message: 'only GET /api/policy is served here' } });
    if (req.method !== 'GET') return send(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use GET' } });
    const ip = url.searchParams.get('src_ip');
    if (!ip || isIP(normalizeIp(ip)) === 0) {
      return send(400, { error: { code: 'BAD_SRC_IP', message: 'src_ip must be an IPv4 or IPv6 address' } });
    }
    return send(200, verdictFor(ip, workloads, policy()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
