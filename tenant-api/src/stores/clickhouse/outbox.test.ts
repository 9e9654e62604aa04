import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTelemetryOutbox } from './outbox.ts';
import type { Clickhouse } from './query.ts';

/** Nothing is held, so nothing may be sent: any use of the server fails the test. */
const unused: Clickhouse = {
  query: () => Promise.reject(new Error('the outbox queried ClickHouse')),
  command: () => Promise.reject(new Error('the outbox sent a command')),
  insert: () => Promise.reject(new Error('the outbox inserted')),
  close: async () => undefined,
};

describe('the ClickHouse outbox on disk', () => {
  it('sets an unreadable file aside with a warning instead of failing the start or deleting it, and drops a write a crash cut short', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'higgs-outbox-unit-'));
    try {
      await writeFile(join(dir, '000000000000001-x.json'), '[{"tenantId": "t", "table": "llm_ca');
      await writeFile(join(dir, '000000000000002-y.json.partial'), 'a crash while writing');
      const warnings: string[] = [];
      const outbox = await openTelemetryOutbox({
        ch: unused, dir, log: { warn: (_o, msg) => warnings.push(msg), info: () => undefined },
        storedIds: () => Promise.reject(new Error('nothing is held')),
      });
      expect(outbox.size).toBe(0);
      expect(await outbox.deliver()).toBe(true);
      expect((await readdir(dir)).sort()).toEqual(['000000000000001-x.json.unreadable']);
      expect(warnings).toEqual(['held telemetry file unreadable; set aside, not delivered']);
      outbox.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
