/**
 * Nothing lost: with the tenant stopped, 10 000 LLM calls go through the
 * scanner's proxy; the scanner spools them to disk and is restarted (new process
 * state, same data directory), the tenant is restarted on the same PGlite data,
 * and exactly 10 000 calls are stored — no fewer (spool, replay) and no more
 * (event ids, de-duplication), with their effects counted once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BriefingSummaryOutput, ListAssetsOutput } from '@higgs/schema';
import { startStack, type Stack } from '@higgs/demo';
import { ProxyAgent, request } from 'undici';
import { describe, expect, it } from 'vitest';

const CALLS = 10_000;
const CONCURRENCY = 32;
const PROMPT = 'Summarise the refund policy for order 4411 in two sentences. '.repeat(16); // ~1 KB

async function tool<T>(stack: Stack, name: string, args: Record<string, unknown>, schema: { parse(v: unknown): T }): Promise<T> {
  const res = await fetch(`${stack.tenantUrl}/api/tools/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
    body: JSON.stringify(args),
  });
  expect(res.status).toBe(200);
  return schema.parse(await res.json());
}

/** Drives `count` chat completions through the proxy over kept-alive CONNECT tunnels; returns the statuses seen. */
async function drive(stack: Stack, count: number): Promise<Map<number, number>> {
  const dispatcher = new ProxyAgent({ uri: stack.proxyUrl, requestTls: { ca: stack.scanner.caCertPem }, connections: CONCURRENCY });
  const statuses = new Map<number, number>();
  let next = 0;
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        const res = await request('https://api.openai.com/v1/chat/completions', {
          dispatcher,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-no-loss' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }),
        });
        await res.body.dump();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    }));
  } finally {
    await dispatcher.close();
  }
  return statuses;
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('no data lost through a tenant outage and restarts of both sides', () => {
  it(`stores exactly ${CALLS} calls sent while the tenant was down`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'higgs-no-loss-'));
    const tokens = { adminToken: randomBytes(24).toString('base64url'), scannerToken: randomBytes(24).toString('base64url') };
    let stack: Stack | undefined;
    try {
      stack = await startStack({ dataDir, traffic: false, ...tokens });
      await stack.tenant.close();

      expect(await drive(stack, CALLS)).toEqual(new Map([[200, CALLS]]));
      const first = stack.scanner;
      await stack.close();
      stack = undefined;
      expect(first.stats()).toMatchObject({ calls: CALLS, uploaded: 0, spooled: CALLS, dropped: 0, deadLettered: 0 });
      expect((await readdir(join(dataDir, 'scanner', 'spool'))).length).toBeGreaterThan(0);

      // both sides again: a new tenant on the same PGlite directory, a new scanner on the same spool
      stack = await startStack({ dataDir, traffic: false, ...tokens });
      const second = stack.scanner;
      const spool = join(dataDir, 'scanner', 'spool');
      await until('the spool to drain', async () => (await readdir(spool)).every((f) => !f.endsWith('.ndjson')), 40_000);
      expect(second.stats()).toMatchObject({ uploaded: CALLS, dropped: 0, deadLettered: 0 });

      const summary = await tool(stack, 'briefing_summary', {}, BriefingSummaryOutput);
      expect(summary.counts.calls).toBe(CALLS);
      // each call's effects were applied once: the model asset counted every call, and none twice
      const { assets } = await tool(stack, 'list_assets', { domain: 'llm' }, ListAssetsOutput);
      expect(assets.find((a) => a.kind === 'model' && a.name === 'gpt-4o-mini')?.callCount).toBe(CALLS);

      // a replay of the same events (a crash between upload and spool removal) changes nothing
      await second.flush();
      expect((await tool(stack, 'briefing_summary', {}, BriefingSummaryOutput)).counts.calls).toBe(CALLS);
    } finally {
      await stack?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 300_000); // ~20 s on an idle 2-core machine; the bound is for a loaded one
});
