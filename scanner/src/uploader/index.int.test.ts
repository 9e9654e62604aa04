import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { IngestBatch, type IngestEvent } from '@higgs/schema';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.ts';
import { newStats } from '../stats.ts';
import { DEAD_LETTER_DIR, Uploader, type UploaderOptions } from './index.ts';

interface Tenant {
  url: string; batches: IngestBatch[]; auth: string[]; status: number; server: Server;
  /** decides the status per batch when set (a batch is stored only on 200) */
  judge?: (b: IngestBatch) => number;
}

async function tenant(): Promise<Tenant> {
  const t = { batches: [] as IngestBatch[], auth: [] as string[], status: 200 } as Tenant;
  t.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      t.auth.push(req.headers.authorization ?? '');
      const batch = IngestBatch.parse(JSON.parse(body));
      const status = t.judge ? t.judge(batch) : t.status;
      if (status === 200) t.batches.push(batch);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.url = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
  return t;
}

function decision(id = `d_${randomUUID()}`): IngestEvent {
  return {
    kind: 'decision',
    event: {
      id, scannerId: 'node-1', ts: new Date().toISOString(), callId: null, ruleId: 'r1', action: 'alert', primitive: 'inline',
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

  it('splits a batch the tenant refuses as too large and delivers every event', async () => {
    t.judge = (b) => (b.events.length > 2 ? 413 : 200);
    const o = opts({ batchSize: 7 });
    const u = await Uploader.open(o);
    try {
      const events = Array.from({ length: 7 }, () => decision());
      for (const e of events) u.enqueue(e);
      await u.flush();
      expect(t.batches.every((b) => b.events.length <= 2)).toBe(true);
      expect(t.batches.flatMap((b) => b.events.map((e) => e.event.id))).toEqual(events.map((e) => e.event.id));
      expect(o.stats).toMatchObject({ uploaded: 7, dropped: 0, deadLettered: 0 });
    } finally {
      await u.close();
    }
  });

  it('quarantines only the events the tenant rejects as invalid, in a dead-letter file, and delivers the rest', async () => {
    t.judge = (b) => (b.events.some((e) => e.event.id.startsWith('d_bad')) ? 400 : 200);
    const o = opts({ batchSize: 5 });
    const u = await Uploader.open(o);
    try {
      const events = [decision(), decision(), decision('d_bad_00001'), decision(), decision()];
      for (const e of events) u.enqueue(e);
      await u.flush();
      expect(t.batches.flatMap((b) => b.events.map((e) => e.event.id)).sort()).toEqual(
        events.map((e) => e.event.id).filter((id) => id !== 'd_bad_00001').sort(),
      );
      expect(o.stats).toMatchObject({ uploaded: 4, deadLettered: 1, dropped: 0 });
      const deadDir = join(dir, 'spool', DEAD_LETTER_DIR);
      const [file] = readdirSync(deadDir);
      const line = JSON.parse(readFileSync(join(deadDir, file!), 'utf8').trim()) as { status: number; event: IngestEvent };
      expect(line).toMatchObject({ status: 400, event: { kind: 'decision', event: { id: 'd_bad_00001' } } });
      expect(statSync(join(deadDir, file!)).mode & 0o777).toBe(0o600);
      expect(warnings).toContain('tenant rejected events; kept in the dead-letter directory');
      // dead letters are never replayed as spool
      await u.flush();
      expect(t.batches.flatMap((b) => b.events).length).toBe(4);
    } finally {
      await u.close();
    }
  });

  it('replays what a crash left behind: complete lines of spool and half-written files, skipping the torn line', async () => {
    const spoolDir = join(dir, 'spool');
    mkdirSync(spoolDir, { recursive: true });
    const [a, b, c] = [decision(), decision(), decision()];
    const torn = JSON.stringify(decision()).slice(0, 40);
    writeFileSync(join(spoolDir, '000000000000001-0000001-000000.ndjson'), `${JSON.stringify(a)}\n${JSON.stringify(b)}\n${torn}`);
    writeFileSync(join(spoolDir, '000000000000002-0000001-000001.ndjson.tmp'), `${JSON.stringify(c)}\n${torn}`);
    const o = opts({ batchSize: 10 });
    const u = await Uploader.open(o);
    try {
      await u.flush();
      expect(t.batches.flatMap((x) => x.events.map((e) => e.event.id))).toEqual([a, b, c].map((e) => e.event.id));
      expect(o.stats).toMatchObject({ uploaded: 3, dropped: 2 });
      expect(readdirSync(spoolDir)).toEqual([]);
    } finally {
      await u.close();
    }
  });

  it('while the tenant is down, writes each full batch to disk at once, whole files only', async () => {
    t.status = 503;
    const o = opts({ batchSize: 3 });
    const u = await Uploader.open(o);
    try {
      u.enqueue(decision());
      await u.flush(); // the first failure
      for (let i = 0; i < 3; i++) u.enqueue(decision());
      // no flush: the batch goes to the spool on its own
      await expect.poll(() => o.stats.spooled, { timeout: 2000 }).toBe(4);
      const files = readdirSync(join(dir, 'spool')).filter((f) => f !== DEAD_LETTER_DIR);
      expect(files.every((f) => f.endsWith('.ndjson'))).toBe(true);
      expect(files.every((f) => (statSync(join(dir, 'spool', f)).mode & 0o777) === 0o600)).toBe(true);
    } finally {
      await u.close();
    }
  });

  it('serialises each event once, as it is enqueued: later changes to the object do not leak, and an unserialisable event is counted, not lost silently', async () => {
    const stats = newStats();
    const u = await Uploader.open(opts({ stats, batchSize: 10 }));
    try {
      const kept = decision();
      u.enqueue(kept);
      (kept.event as { matchedField: string }).matchedField = 'changed after enqueue';
      const broken = decision();
      (broken.event as unknown as { latencyUs: bigint }).latencyUs = 1n; // JSON cannot carry a BigInt
      u.enqueue(broken);
      u.enqueue(decision());
      await u.flush();
      expect(t.batches.flatMap((b) => b.events)).toHaveLength(2);
      expect(t.batches[0]!.events[0]!.event).toMatchObject({ id: kept.event.id, matchedField: 'prompt' });
      expect(stats.dropped).toBe(1);
      expect(warnings).toContain('event not serialisable; dropped');
    } finally {
      await u.close();
    }
  });

  it('a call too large for one upload reaches the tenant cut to fit, counted and said, instead of a dead letter', async () => {
    const stats = newStats();
    const bodies: number[] = [];
    t.judge = (b) => {
      bodies.push(Buffer.byteLength(JSON.stringify(b)));
      return 200;
    };
    const u = await Uploader.open(opts({ stats, batchSize: 10 }));
    try {
      const big: IngestEvent = {
        kind: 'llm_call',
        event: {
          id: `call_${randomUUID()}`, scannerId: 'node-1', ts: new Date().toISOString(), durationMs: 40, tap: 'proxy', provider: 'openai', endpoint: 'chat',
          host: 'api.openai.com', path: '/v1/chat/completions', parsed: true, model: 'gpt-4o', stream: false, system: null,
          messages: [{ role: 'user', content: 'p'.repeat(12 * 1024 * 1024) }], tools: [], response: { content: 'ok', finishReason: 'stop', toolCalls: [] },
          usage: null, status: 200, error: null, source: { ip: '10.0.0.1', namespace: 'ns', app: 'a', mode: 'observe' },
          attribution: { userId: null, userSource: null, traceId: null, parentSpanId: null, sessionId: 's-1' }, detections: [], injectionScore: 0, verdict: 'allow', ruleIds: [],
        },
      };
      u.enqueue(big);
      u.enqueue(decision());
      await u.flush();
      const stored = t.batches.flatMap((b) => b.events);
      expect(stored.map((e) => e.event.id)).toEqual([big.event.id, expect.any(String)]);
      // the tenant's ingest body limit (tenant-api INGEST_BODY_LIMIT_BYTES)
      expect(Math.max(...bodies)).toBeLessThanOrEqual(10 * 1024 * 1024);
      expect((stored[0]!.event as { messages: Array<{ content: string }> }).messages[0]!.content).toMatch(/^p+…\[higgs: \d+ characters not recorded\]$/);
      expect(stats).toMatchObject({ truncated: 1, deadLettered: 0, dropped: 0, uploaded: 2 });
      expect(warnings).toContain('event over the upload bound: recorded text cut to fit, each cut marked in the text');
    } finally {
      await u.close();
    }
  });
});
