import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IngestBatch, type IngestEvent, type ScannerPolicy } from '@higgs/schema';

/**
 * A stand-in for the tenant's scanner-facing API, for suites that test the
 * scanner's parsing and enforcement rather than the tenant: it serves one fixed
 * policy to `scannerId` (long-poll shaped: 304 while the version matches) and
 * keeps every ingested event, validated against the ingest contract.
 */
export interface RecordingTenant {
  url: string;
  ingested: IngestEvent[];
  close(): Promise<void>;
}

export async function startRecordingTenant(opts: { scannerId: string; policy: ScannerPolicy }): Promise<RecordingTenant> {
  const ingested: IngestEvent[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/ingest') {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const batch = IngestBatch.parse(JSON.parse(body));
        ingested.push(...batch.events);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: batch.events.length, duplicates: 0 }));
      });
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith(`/v1/scanners/${opts.scannerId}/policy`)) {
      if (req.headers['if-none-match'] === opts.policy.version) return void setTimeout(() => res.writeHead(304).end(), 200);
      res.writeHead(200, { 'content-type': 'application/json', etag: opts.policy.version }).end(JSON.stringify(opts.policy));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ingested,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
