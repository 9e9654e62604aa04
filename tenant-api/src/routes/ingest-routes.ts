import { createGunzip } from 'node:zlib';
import { IngestBatch } from '@higgs/schema';
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { TenantError } from '../errors.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';
import { zodMessage } from './zod-message.ts';
import { principalFor, SCANNER_ONLY } from './auth-hooks.ts';

/** Decompressed batch size limit: 5000 events of a few KB each fit comfortably. */
export const INGEST_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

export function registerIngestRoutes(app: FastifyInstance, deps: { db: SqlClient; telemetry?: TelemetryStore | undefined }): void {
  app.post('/v1/ingest', {
    bodyLimit: INGEST_BODY_LIMIT_BYTES,
    // gzip bodies are inflated before parsing; fastify applies bodyLimit to the inflated bytes
    preParsing: async (request, _reply, payload) => {
      if (String(request.headers['content-encoding'] ?? '').toLowerCase() !== 'gzip') return payload;
      const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength?: number };
      let encoded = 0;
      payload.on('data', (chunk: Buffer) => {
        encoded += chunk.length;
        gunzip.receivedEncodedLength = encoded;
      });
      payload.pipe(gunzip);
      return gunzip as unknown as Readable & typeof payload;
    },
  }, async (request) => {
    const principal = await principalFor(deps.db, request, SCANNER_ONLY);
    const parsed = IngestBatch.safeParse(request.body);
    if (!parsed.success) throw new TenantError('INVALID_BATCH', zodMessage(parsed.error));
    return ingestBatch(deps.db, { tenantId: principal.tenantId, batch: parsed.data, telemetry: deps.telemetry });
  });
}
