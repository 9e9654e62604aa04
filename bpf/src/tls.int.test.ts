import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  let server6: Server | null = null;
  let port6 = 0;
  let tls: TlsObservation;
  const seen: TlsEvent[] = [];
  // prompt marker -> the client's local port, as the server saw the connection (req.socket.remotePort)
  const clientPorts = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'higgs-tls-'));
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const marker = /"prompt":"([^"]+)"/.exec(body)?.[1];
        if (marker) clientPorts.set(marker, req.socket.remotePort!);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"reply":"server-plaintext-reply"}');
      });
    };
    const creds = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    server = createServer(creds, handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
    try {
      const s6 = createServer(creds, handler);
      s6.listen(0, '::1');
      await once(s6, 'listening');
      [server6, port6] = [s6, (s6.address() as { port: number }).port];
    } catch {
      server6 = null; // no IPv6 loopback here: that one test says so
    }
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
    server6?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('attaches to libssl.so.3 and to the node binary', () => {
    expect(tls.targets.filter((t) => t.error === null).map((t) => t.path)).toEqual(expect.arrayContaining([expect.stringContaining('libssl.so.3'), process.execPath]));
  });

  async function capture(marker: string, cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ written: string; read: string; event: TlsEvent; events: TlsEvent[] }> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
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
    return { written: text('write'), read: text('read'), event: mine()[0]!, events: mine() };
  }

  /**
   * Every record of the call, writes and reads, carries the connection: the
   * client's own end (the port the server saw as remotePort) and the server's.
   */
  function expectTuples(events: TlsEvent[], marker: string, address = '127.0.0.1', serverPort = port): void {
    const clientPort = clientPorts.get(marker);
    expect(clientPort, `server saw the ${marker} request`).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.direction))).toEqual(new Set(['write', 'read']));
    for (const e of events) {
      expect({ direction: e.direction, socket: e.socket }).toEqual({
        direction: e.direction,
        socket: { local: { address, port: clientPort }, remote: { address, port: serverPort } },
      });
      expect(e.tupleSource).not.toBeNull();
      expect(e.cookie).toBeGreaterThan(0n);
    }
    // one TCP connection: one socket cookie on all of them
    expect(new Set(events.map((e) => e.cookie)).size).toBe(1);
  }

  it('captures an HTTPS call made by curl', async () => {
    const r = await capture('curl-prompt', '/usr/bin/curl', ['-sk', '--http1.1', '-d', '{"prompt":"curl-prompt"}', `https://127.0.0.1:${port}${PATH}`]);
    expect(r.written).toContain(`POST ${PATH} HTTP/1.1`);
    expect(r.written).toContain('{"prompt":"curl-prompt"}');
    expect(r.read).toContain('HTTP/1.1 200 OK');
    expect(r.event).toMatchObject({ comm: 'curl', ssl: expect.any(BigInt) });
    expectTuples(r.events, 'curl-prompt');
    // curl drives a socket BIO: the request's own send is seen inside SSL_write
    expect(r.events.find((e) => e.direction === 'write')!.tupleSource).toBe('socket');
  });

  it('carries the IPv6 connection of a curl call to [::1]', async (ctx) => {
    if (!server6) ctx.skip(); // the runner has no IPv6 loopback
    const r = await capture('curl6-prompt', '/usr/bin/curl', ['-sk', '--http1.1', '-d', '{"prompt":"curl6-prompt"}', `https://[::1]:${port6}${PATH}`]);
    expect(r.written).toContain('{"prompt":"curl6-prompt"}');
    expectTuples(r.events, 'curl6-prompt', '::1', port6);
  });

  it('captures an HTTPS call made by Python urllib', async () => {
    const script = `import ssl, urllib.request
req = urllib.request.Request('https://127.0.0.1:${port}${PATH}', data=b'{"prompt":"python-prompt"}', method='POST')
print(urllib.request.urlopen(req, context=ssl._create_unverified_context()).read().decode())`;
    const r = await capture('python-prompt', 'python3', ['-c', script]);
    expect(r.written).toContain(`POST ${PATH} HTTP/1.1`);
    expect(r.written).toContain('{"prompt":"python-prompt"}');
    expect(r.read).toContain('server-plaintext-reply');
    expectTuples(r.events, 'python-prompt');
  });

  it('captures HTTPS calls made by Node https and fetch (OpenSSL linked into the node binary)', async () => {
    const httpsScript = `const r = require('node:https').request({ host: '127.0.0.1', port: ${port}, path: '${PATH}', method: 'POST', rejectUnauthorized: false },
      (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => console.log(b)); });
    r.end('{"prompt":"node-https-prompt"}');`;
    const viaHttps = await capture('node-https-prompt', process.execPath, ['-e', httpsScript]);
    expect(viaHttps.written).toContain('{"prompt":"node-https-prompt"}');
    expect(viaHttps.read).toContain('server-plaintext-reply');
    expectTuples(viaHttps.events, 'node-https-prompt');
    // node encrypts into a memory BIO and writes the socket after SSL_write returns: the held write met that send
    expect(viaHttps.events.find((e) => e.direction === 'write')!.tupleSource).toBe('socket');
    // and the server side of the same connection, in this process: its end, the client's port as the peer
    const clientPort = clientPorts.get('node-https-prompt')!;
    const serverSide = seen.filter((e) => e.pid === process.pid && e.socket?.remote.port === clientPort);
    expect(new Set(serverSide.map((e) => e.direction))).toEqual(new Set(['write', 'read']));
    for (const e of serverSide) expect(e.socket!.local).toEqual({ address: '127.0.0.1', port });

    const fetchScript = `process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    fetch('https://127.0.0.1:${port}${PATH}', { method: 'POST', body: '{"prompt":"node-fetch-prompt"}' }).then((r) => r.text()).then(console.log);`;
    const viaFetch = await capture('node-fetch-prompt', process.execPath, ['--no-warnings', '-e', fetchScript]);
    expect(viaFetch.written).toContain('{"prompt":"node-fetch-prompt"}');
    expect(viaFetch.read).toContain('server-plaintext-reply');
    expectTuples(viaFetch.events, 'node-fetch-prompt');
    expect(tls.counters().ringbuf_full).toBe(0n);
  });

  it('a TLS session over memory BIOs with no socket at all: records without a tuple, each one counted', async () => {
    const script = `import ssl
s_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
s_ctx.load_cert_chain('${join(dir, 'cert.pem')}', '${join(dir, 'key.pem')}')
c_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
c_ctx.check_hostname = False
c_ctx.verify_mode = ssl.CERT_NONE
c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
c = c_ctx.wrap_bio(c_in, c_out, server_hostname='localhost')
s = s_ctx.wrap_bio(s_in, s_out, server_side=True)
def pump():
    s_in.write(c_out.read())
    c_in.write(s_out.read())
for _ in range(10):
    for end in (c, s):
        try:
            end.do_handshake()
        except ssl.SSLWantReadError:
            pass
    pump()
c.write(b'{"prompt":"memory-bio-prompt"}')
pump()
print(s.read(100).decode())
s.write(b'server-plaintext-reply')
pump()
print(c.read(100).decode())
del c, s`;
    const before = tls.tupleMissing();
    const r = await capture('memory-bio-prompt', 'python3', ['-c', script]);
    expect(r.written).toContain('{"prompt":"memory-bio-prompt"}');
    expect(r.read).toContain('server-plaintext-reply');
    for (const e of r.events) expect({ socket: e.socket, cookie: e.cookie, tupleSource: e.tupleSource }).toEqual({ socket: null, cookie: null, tupleSource: null });
    // other processes on the host may add to the counter meanwhile, never take from it
    expect(tls.tupleMissing() - before).toBeGreaterThanOrEqual(BigInt(r.events.length));
  });

  it('probes a workload\'s own copy of libssl (a container image\'s) once attached to it, and each file only once', async () => {
    const system = defaultTlsTargets().find((t) => /libssl\.so/.test(t))!;
    const own = join(dir, 'own-lib');
    mkdirSync(own, { recursive: true });
    // a file of its own (another inode), as a container's image layer holds one
    copyFileSync(system, join(own, 'libssl.so.3'));
    const call = (marker: string) => capture(marker, 'python3', ['-c', `import ssl, urllib.request
req = urllib.request.Request('https://127.0.0.1:${port}${PATH}', data=b'{"prompt":"${marker}"}', method='POST')
print(urllib.request.urlopen(req, context=ssl._create_unverified_context()).read().decode())`], { LD_LIBRARY_PATH: own });

    // python's ssl module loads the copy: the probes on the system file never fire
    expect((await call('own-libssl-before')).written).toBe('');
    const target = tls.attach(join(own, 'libssl.so.3'));
    expect(target).toMatchObject({ path: join(own, 'libssl.so.3'), error: null, attached: expect.arrayContaining(['SSL_write', 'SSL_read']) });
    const after = await call('own-libssl-after');
    expect(after.written).toContain('{"prompt":"own-libssl-after"}');
    expect(after.read).toContain('server-plaintext-reply');

    // the same files again, by other paths: nothing more to probe
    expect(tls.attach(`/proc/self/root${join(own, 'libssl.so.3')}`)).toBeNull();
    expect(tls.attach(system)).toBeNull();
    expect(() => tls.attach(join(own, 'missing.so'))).toThrow(/no such binary/);
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
