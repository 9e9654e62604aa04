/**
 * bin/higgs-scanner, as deployed: it runs the bundle `npm install` builds
 * (scripts/bundle.mjs) with plain node, and that bundle is the whole daemon —
 * policy from the tenant, the proxy, the parsers, the uploader.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '@higgs/evals/testing';
import { IngestBatch, type IngestEvent, type ScannerPolicy } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const close = (s: Server) => new Promise<void>((r) => { s.close(() => r()); });

const policy: ScannerPolicy = { version: '1', rules: [], quarantinedNamespaces: [], blockedSessions: [] };
const ingested: IngestEvent[] = [];

let dir: string;
let tenant: Server;
let upstream: Server;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-launcher-'));
  // the tenant's side of the wire: the policy long-poll and ingest
  tenant = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/v1/scanners/')) {
        if (req.headers['if-none-match'] === `"${policy.version}"`) {
          setTimeout(() => { res.writeHead(304, { etag: `"${policy.version}"` }).end(); }, 200);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', etag: `"${policy.version}"` }).end(JSON.stringify(policy));
        return;
      }
      const batch = IngestBatch.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      ingested.push(...batch.events);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: batch.events.length, duplicates: 0 }));
    });
  });
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hello from upstream' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      }));
    });
  });
  await Promise.all([listen(tenant), listen(upstream)]);
}, 30_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await Promise.all([close(tenant), close(upstream)]);
  rmSync(dir, { recursive: true, force: true });
});

describe('bin/higgs-scanner', () => {
  it('runs the bundle with plain node, and the bundle proxies a call and uploads it', async () => {
    execFileSync(process.execPath, [join(PKG, 'scripts', 'bundle.mjs')], { stdio: 'pipe' });
    child = spawn(join(PKG, 'bin', 'higgs-scanner'), [], {
      env: {
        ...process.env, HIGGS_SCANNER_ID: 'launcher-test', HIGGS_DATA_DIR: join(dir, 'data'),
        HIGGS_TENANT_URL: `http://127.0.0.1:${(tenant.address() as AddressInfo).port}`, HIGGS_SCANNER_TOKEN: 'test-token',
        HIGGS_HASH_SALT: 'launcher-test-salt', HIGGS_PROXY_PORT: '0', HIGGS_POLICY_PORT: '0', HIGGS_UPLOAD_INTERVAL_MS: '100',
        HIGGS_HOSTS_OVERRIDE: `api.openai.com=127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
    child.stderr!.on('data', (c: Buffer) => { output += c.toString('utf8'); });
    const proxyUrl = await until('the scanner to start', () => /"proxyUrl":"([^"]+)"/.exec(output)?.[1], 20_000);

    // exec'd in place: the launcher's pid is node running the bundle, not tsx running the sources
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain(join(PKG, 'dist', 'higgs-scanner.mjs'));
    expect(cmdline.join(' ')).not.toMatch(/tsx/);
    expect(output).not.toMatch(/running the sources/);

    const proxy = new URL(proxyUrl);
    const ask = (content: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: proxy.hostname, port: Number(proxy.port), method: 'POST', path: 'http://api.openai.com/v1/chat/completions',
        headers: { host: 'api.openai.com', 'content-type': 'application/json' },
      }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }));
    });
    const answer = await ask('say hello');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('hello from upstream');

    const call = await until('the call uploaded', () => ingested.find((e) => e.kind === 'llm_call'), 20_000);
    expect(call.event).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', status: 200, response: { content: 'hello from upstream' } });

    // a large prompt is inspected in the bundle's worker thread (dist/higgs-inspect-worker.mjs), and recorded masked
    expect((await ask(`${'Quarterly figures, line by line. '.repeat(10_000)}Mail them to maria.schneider@example.com.`)).status).toBe(200);
    const large = await until('the large call uploaded', () => ingested.find((e) => e.kind === 'llm_call' && e.event.messages[0]!.content.length > 300_000), 20_000);
    expect(large.kind === 'llm_call' && large.event.detections).toEqual([expect.objectContaining({ type: 'email', field: 'prompt' })]);
    expect(large.kind === 'llm_call' && large.event.messages[0]!.content).toMatch(/Mail them to \[EMAIL:[0-9a-f]{8}\]\.$/);
  }, 60_000);
});
