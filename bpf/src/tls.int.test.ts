import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '@higgs/evals/testing';
import { availability, cgroupIdOf, findCgroup2Root, type TlsEvent } from './index.ts';
import { loadNative } from './native.ts';
import { defaultTlsTargets, openTlsObservation, type TlsObservation } from './tls.ts';

const avail = availability();
const tools = ['/usr/bin/curl', '/usr/bin/openssl'].filter((t) => !existsSync(t));
const run = requireOrSkip('BPF', !avail.available ? avail.reasons.join('; ') : tools.length ? `${tools.join(', ')} missing (apt-get install curl openssl)` : null);

const PATH = '/v1/chat/completions';

describe.runIf(run)('TLS plaintext through uprobes on SSL_write / SSL_read (libssl.so.3 and node)', () => {
  let dir: string;
  let server: Server;
  let port = 0;
  let tls: TlsObservation;
  const seen: TlsEvent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'higgs-tls-'));
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"reply":"server-plaintext-reply"}'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
    const native = loadNative();
    if (!('binding' in native)) throw new Error(native.reason);
    tls = openTlsObservation(native.binding, defaultTlsTargets());
    void (async () => {
      for await (const e of tls.events) seen.push(e);
    })();
  });

  afterAll(() => {
    tls?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('attaches to libssl.so.3 and to the node binary', () => {
    expect(tls.targets.filter((t) => t.error === null).map((t) => t.path)).toEqual(expect.arrayContaining([expect.stringContaining('libssl.so.3'), process.execPath]));
  });

  async function capture(marker: string, cmd: string, args: string[]): Promise<{ written: string; read: string; event: TlsEvent }> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('server-plaintext-reply') });
    const deadline = Date.now() + 3000;
    const mine = () => seen.filter((e) => e.pid === child.pid);
    const text = (dir: 'write' | 'read') => mine().filter((e) => e.direction === dir).map((e) => e.data.toString('latin1')).join('');
    while (!(text('write').includes(marker) && text('read').includes('server-plaintext-reply')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return { written: text('write'), read: text('read'), event: mine()[0]! };
  }

  it('captures an HTTPS call made by curl', async () => {
    const r = await capture('curl-prompt', '/usr/bin/curl', ['-sk', '--http1.1', '-d', '{"prompt":"curl-prompt"}', `https://127.0.0.1:${port}${PATH}`]);
    expect(r.written).toContain(`POST ${PATH} HTTP/1.1`);
    expect(r.written).toContain('{"prompt":"curl-prompt"}');
    expect(r.read).toContain('HTTP/1.1 200 OK');
    expect(r.event).toMatchObject({ comm: 'curl', ssl: expect.any(BigInt) });
  });

  it('captures an HTTPS call made by Python urllib', async () => {
    const script = `import ssl, urllib.request
req = urllib.request.Request('https://127.0.0.1:${port}${PATH}', data=b'{"prompt":"python-prompt"}', method='POST')
print(urllib.request.urlopen(req, context=ssl._create_unverified_context()).read().decode())`;
    const r = await capture('python-prompt', 'python3', ['-c', script]);
    expect(r.written).toContain(`POST ${PATH} HTTP/1.1`);
    expect(r.written).toContain('{"prompt":"python-prompt"}');
    expect(r.read).toContain('server-plaintext-reply');
  });

  it('captures HTTPS calls made by Node https and fetch (OpenSSL linked into the node binary)', async () => {
    const httpsScript = `const r = require('node:https').request({ host: '127.0.0.1', port: ${port}, path: '${PATH}', method: 'POST', rejectUnauthorized: false },
      (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => console.log(b)); });
    r.end('{"prompt":"node-https-prompt"}');`;
    const viaHttps = await capture('node-https-prompt', process.execPath, ['-e', httpsScript]);
    expect(viaHttps.written).toContain('{"prompt":"node-https-prompt"}');
    expect(viaHttps.read).toContain('server-plaintext-reply');

    const fetchScript = `process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    fetch('https://127.0.0.1:${port}${PATH}', { method: 'POST', body: '{"prompt":"node-fetch-prompt"}' }).then((r) => r.text()).then(console.log);`;
    const viaFetch = await capture('node-fetch-prompt', process.execPath, ['--no-warnings', '-e', fetchScript]);
    expect(viaFetch.written).toContain('{"prompt":"node-fetch-prompt"}');
    expect(viaFetch.read).toContain('server-plaintext-reply');
    expect(tls.counters().ringbuf_full).toBe(0n);
  });

  it('restricted to a pod cgroup, copies plaintext only from processes in it: another process is counted as filtered, never read', async () => {
    const root = findCgroup2Root();
    if (!root) throw new Error('no cgroup v2 hierarchy');
    const pod = join(root, `higgs-test-${process.pid}-tls-pod`);
    mkdirSync(pod, { recursive: true });
    try {
      tls.setCgroups([cgroupIdOf(pod)]);
      expect(tls.cgroups()).toEqual([cgroupIdOf(pod)]);
      const before = tls.filtered();
      // outside the pod: the call works, no event of it reaches user space
      const outside = spawn('/usr/bin/curl', ['-sk', '--http1.1', '-d', '{"prompt":"outside-prompt"}', `https://127.0.0.1:${port}${PATH}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      outside.stdout!.on('data', (d) => (out += d.toString()));
      expect((await once(outside, 'exit'))[0]).toBe(0);
      expect(out).toContain('server-plaintext-reply');
      // inside: the shell moves itself into the pod before exec'ing curl
      const inside = await capture('inside-prompt', '/bin/sh', ['-c', `echo $$ > ${pod}/cgroup.procs && exec /usr/bin/curl -sk --http1.1 -d '{"prompt":"inside-prompt"}' https://127.0.0.1:${port}${PATH}`]);
      expect(inside.written).toContain('{"prompt":"inside-prompt"}');
      expect(inside.event.cgroupId).toBe(cgroupIdOf(pod));
      expect(seen.filter((e) => e.pid === outside.pid)).toEqual([]);
      expect(seen.some((e) => e.data.toString('latin1').includes('outside-prompt'))).toBe(false);
      expect(tls.filtered()).toBeGreaterThanOrEqual(before + 2n); // its SSL_write and SSL_read at least
    } finally {
      tls.setCgroups(null);
      expect(tls.cgroups()).toBeNull();
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(pod);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  });
});
