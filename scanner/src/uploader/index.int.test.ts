import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { IngestBatch, type IngestEvent } from '@higgs/schema';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.ts';
import { newStats } from '../stats.ts';
import { Uploader, type UploaderOptions } from './index.ts';

interface Tenant { url: string; batches: IngestBatch[]; auth: string[]; status: number; server: Server }

async function tenant(): Promise<Tenant> {
  const t = { batches: [] as IngestBatch[], auth: [] as string[], status: 200 } as Tenant;
  t.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      t.auth.push(req.headers.authorization ?? '');
      if (t.status === 200) t.batches.push(IngestBatch.parse(JSON.parse(body)));
      res.writeHead(t.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.url = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
  return t;
}

function decision(): IngestEvent {
  return {
    kind: 'decision',
    event: {
      id: `d_${randomUUID()}`, scannerId: 'node-1', ts: new Date().toISOString(), callId: null, ruleId: 'r1', action: 'alert', primitive: 'inline',
      latencyUs: 12, matchedField: 'prompt', matchedHash: 'abcdabcdabcdabcd', sessionId: null, source: { ip: '10.0.0.1', namespace: null, app: null, mode: null },
    },
  };
}

const warnings: string[] = [];
const logger: Logger = { info: () => {}, warn: (_o, m) => warnings.push(m), error: (_o, m) => warnings.push(m) };
let dir: string;
let t: Tenant;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-spool-'));
  t = await tenant();
  warnings.length = 0;
});
afterEach(async () => {
  await new Promise((r) => t.server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const opts = (over: Partial<UploaderOptions> = {}): UploaderOptions => ({
  tenantUrl: t.url, token: 'tok-1', scannerId: 'node-1', spoolDir: join(dir, 'spool'), batchSize: 2, intervalMs: 60_000,
  spoolMaxBytes: 1_000_000, logger, stats: newStats(), ...over,
});

describe('Uploader', () => {
  it('uploads events in batches with the scanner token', async () => {
    const u = await Uploader.open(opts());
    try {
      const events = [decision(), decision(), decision()];
      for (const e of events) u.enqueue(e);
      await u.flush();
      expect(t.batches.map((b) => b.events.length)).toEqual([2, 1]);
      expect(t.batches.flatMap((b) => b.events.map((e) => e.event.id))).toEqual(events.map((e) => e.event.id));
      expect(t.auth.every((a) => a === 'Bearer tok-1')).toBe(true);
    } finally {
      await u.close();
    }
  });

  it('spools while the tenant is down and replays in order after a restart', async () => {
    t.status = 503;
    const first = opts();
    const u1 = await Uploader.open(first);
    const events = [decision(), decision(), decision()];
    for (const e of events) u1.enqueue(e);
    await u1.close();
    expect(first.stats).toMatchObject({ spooled: 3, uploaded: 0 });
    expect(readdirSync(join(dir, 'spool')).length).toBeGreaterThan(0);

    t.status = 200;
    const second = opts();
    const u2 = await Uploader.open(second);
    try {
      const later = decision();
      u2.enqueue(later);
      await u2.flush();
      expect(t.batches.flatMap((b) => b.events.map((e) => e.event.id))).toEqual([...events, later].map((e) => e.event.id));
      expect(second.stats.uploaded).toBe(4);
      expect(readdirSync(join(dir, 'spool'))).toEqual([]);
    } finally {
      await u2.close();
    }
  });

  it('counts and logs what does not fit in a full spool', async () => {
    t.status = 503;
    const o = opts({ spoolMaxBytes: 900 });
    const u = await Uploader.open(o);
    for (let i = 0; i < 5; i++) u.enqueue(decision());
    await u.close();
    expect(o.stats.spooled).toBeGreaterThan(0);
    expect(o.stats.spooled + o.stats.dropped).toBe(5);
    expect(o.stats.dropped).toBeGreaterThan(0);
    expect(warnings).toContain('spool full; events dropped');
  });
});
