import { createGunzip } from 'node:zlib';
import { IngestBatch } from '@higgs/schema';
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { TenantError } from '../errors.ts';
import { createIngestQueue, withoutNul } from '../ingest/ingest.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';
import { zodMessage } from './zod-message.ts';
import { principalFor, SCANNER_ONLY } from './auth-hooks.ts';

/** Decompressed batch size limit: 5000 events of a few KB each fit comfortably. */
export const INGEST_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** A JSON body parsed here, with whether its text can hold U+0000 at all. */
interface IngestBody { json: unknown; mayHoldNul: boolean }

export function registerIngestRoutes(app: FastifyInstance, deps: { db: SqlClient; telemetry?: TelemetryStore | undefined }): void {
  // concurrent batches of a tenant are stored as one group commit (see createIngestQueue)
  const queue = createIngestQueue(deps.db, {
    telemetry: deps.telemetry,
    onGroupFailed: (err, batches) => app.log.warn({ err, batches }, 'ingest group failed; storing its batches one by one'),
  });
  // its own scope: the JSON parser below applies to this route only
  void app.register(async (scope) => {
    /*
     * JSON.parse directly: fastify's default parser (secure-json-parse) also scans the
     * text for __proto__ / constructor keys, to protect code that merges a body into
     * an object. Here nothing merges: IngestBatch builds new objects from its own keys,
     * so such a key is dropped like any other unknown key. The text is looked at once
     * more for `\u0000`, the only way JSON spells U+0000, so a batch without it is
     * never walked for NUL (the walk was ~3 % of ingest CPU).
     */
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      const text = body as string;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        done(new TenantError('INVALID_BATCH', 'body is not valid JSON'), undefined);
        return;
      }
      done(null, { json, mayHoldNul: text.includes('\\u0000') } satisfies IngestBody);
    });

    scope.post('/v1/ingest', {
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
      const body = request.body as IngestBody | undefined;
      if (body === undefined || body === null) throw new TenantError('INVALID_BATCH', '(body): a JSON body is required');
      const parsed = IngestBatch.safeParse(body.json);
      if (!parsed.success) throw new TenantError('INVALID_BATCH', zodMessage(parsed.error));
      // Postgres text cannot hold NUL: replaced here, once, so the store never walks a batch for it
      const batch = body.mayHoldNul ? withoutNul(parsed.data) : parsed.data;
      return queue.submit({ tenantId: principal.tenantId, batch, nulFree: true });
    });
  });
}
