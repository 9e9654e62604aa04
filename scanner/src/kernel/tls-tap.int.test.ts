/**
 * The socket tuple from the kernel to the LlmCall: curl, Python and Node
 * clients in a cgroup "pod", each bound to its own loopback source address,
 * call a local HTTPS provider directly. The TLS tap's call carries that
 * address as its source ip (and the session id the proxy would give a client
 * at that address), the flow tap's connect carries the same address and the
 * client port the server saw: the two observations join on the connection.
 * (LlmCall has no port field; the join is on the address, plus the port on
 * the flow side.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availability, cgroupIdOf, defaultTlsTargets, findCgroup2Root, loadPrograms } from '@higgs/bpf';
import { requireOrSkip } from '@higgs/evals/testing';
import { LlmCall, NetworkFlow, type IngestEvent } from '@higgs/schema';
import { attribute } from '../sessions/index.ts';
import type { Workload } from '../workloads/index.ts';
import { ProviderAddresses, startKernelObservation, type KernelObservation } from './index.ts';

const avail = availability();
const missing = ['/usr/bin/curl', '/usr/bin/openssl'].filter((t) => !existsSync(t));
const run = requireOrSkip('BPF', !avail.available ? avail.reasons.join('; ') : missing.length ? `${missing.join(', ')} missing` : null);
const PROVIDER = `127.0.9.${10 + Math.floor(Math.random() * 200)}`;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const COMPLETION = JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });

describe.runIf(run)('TLS tap: the connection the kernel saw is on the LlmCall and joins the flow', () => {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const pinDir = `/sys/fs/bpf/higgs-tls-tap-test-${suffix}`;
  const base = join(findCgroup2Root() ?? '/nonexistent', `higgs-tls-tap-${suffix}`);
  const pod = join(base, 'notebook');
  let dir: string;
  let server: Server;
  let port = 0;
  let obs: KernelObservation;
  const recorded: IngestEvent[] = [];
  // prompt marker -> the client end of its connection, as the server saw it
  const clients = new Map<string, { address: string; port: number }>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'higgs-tls-tap-'));
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=api.openai.com', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const marker = /marker-[a-z]+/.exec(body)?.[0];
        if (marker) clients.set(marker, { address: req.socket.remoteAddress!, port: req.socket.remotePort! });
        res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION);
      });
    });
    server.listen(0, PROVIDER);
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
    mkdirSync(pod, { recursive: true });
    const notebook: Workload = { namespace: 'research', app: 'notebook', mode: 'observe', cgroup: pod };
    const podId = cgroupIdOf(pod);
    obs = startKernelObservation({
      scannerId: 'node-t', hashSalt: 'salt', identityHeader: 'x-user-id', record: (e) => recorded.push(e),
      workloads: { list: () => [notebook], resolveCgroup: (id) => (id === podId ? notebook : null) },
      providers: new ProviderAddresses([], { [PROVIDER]: 'api.openai.com' }),
      tls: true, flows: true, redirect: false, logger: quiet, pinDir, cgroupRoot: base, idleMs: 500,
    });
    expect(obs.reasons).toEqual([]);
  });

  afterAll(async () => {
    await obs?.close();
    server?.close();
    if (obs?.available) {
      // the connect programs stay pinned for a restart to adopt; the test removes them
      const pinned = loadPrograms({ pinDir, flows: false, cgroupRoot: base });
      pinned.quarantine.unload();
      pinned.close();
    }
    rmSync(pinDir, { recursive: true, force: true });
    for (const d of [pod, base]) {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(d);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function inPod(cmd: string[], env: Record<string, string> = {}): Promise<string> {
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${pod}/cgroup.procs && exec "$@"`, 'sh', ...cmd], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout!.on('data', (d) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('chat.completion') });
    return out;
  }

  const calls = () => recorded.filter((e) => e.kind === 'llm_call').map((e) => LlmCall.parse(e.event));
  const flows = () => recorded.filter((e) => e.kind === 'flow').map((e) => NetworkFlow.parse(e.event));
  const body = (marker: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: marker }] });

  /**
   * `flowPort` false: the flow tap records the connect at SYN_SENT, before the
   * kernel has picked the local port of a socket bound with
   * IP_BIND_ADDRESS_NO_PORT (curl --interface); its srcPort is then 0.
   */
  async function expectJoined(marker: string, source: string, flowPort = true): Promise<void> {
    const find = () => calls().find((c) => c.messages.some((m) => m.content === marker));
    await expect.poll(find, { timeout: 5000 }).toBeDefined();
    const call = find()!;
    const client = clients.get(marker)!;
    expect(client.address).toBe(source);
    expect(call).toMatchObject({ tap: 'tls', source: { ip: source, namespace: 'research', app: 'notebook', mode: 'observe' } });
    // the session id the proxy computes for a client at this address with no identity: the tap's is the same
    expect(call.attribution.sessionId).toBe(attribute({ headers: {}, srcIp: source, providerUser: null, identityHeader: 'x-user-id' }).sessionId);
    // the flow tap saw the same connection open: same address, and the port the server saw
    await expect.poll(() => flows().find((f) => f.srcIp === source && f.dstIp === PROVIDER), { timeout: 5000 }).toMatchObject({
      srcPort: flowPort ? client.port : 0, dstPort: port, dstHost: 'api.openai.com', source: { ip: source, namespace: 'research' },
    });
  }

  it('curl bound to 127.0.0.77: the call and the flow name the same connection', async () => {
    await inPod(['/usr/bin/curl', '-sk', '--http1.1', '--interface', '127.0.0.77', '-H', 'content-type: application/json', '-d', body('marker-curl'), `https://${PROVIDER}:${port}/v1/chat/completions`]);
    await expectJoined('marker-curl', '127.0.0.77', false);
  });

  it('Python http.client bound to 127.0.0.78', async () => {
    const script = `import http.client, ssl, sys
c = http.client.HTTPSConnection('${PROVIDER}', ${port}, context=ssl._create_unverified_context(), source_address=('127.0.0.78', 0))
c.request('POST', '/v1/chat/completions', body=sys.argv[1], headers={'content-type': 'application/json'})
print(c.getresponse().read().decode())`;
    await inPod(['python3', '-c', script, body('marker-python')]);
    await expectJoined('marker-python', '127.0.0.78');
  });

  it('Node https bound to 127.0.0.79 (OpenSSL in the node binary, memory BIO)', async () => {
    const script = `const r = require('node:https').request({ host: '${PROVIDER}', port: ${port}, path: '/v1/chat/completions', method: 'POST', localAddress: '127.0.0.79',
      rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => console.log(b)); });
    r.end(process.argv[1]);`;
    await inPod([process.execPath, '-e', script, body('marker-node')]);
    await expectJoined('marker-node', '127.0.0.79');
  });

  it('Python on its own copy of libssl (as a container image has) bound to 127.0.0.80: found in the pod and probed', async () => {
    const system = defaultTlsTargets().find((t) => /libssl\.so/.test(t))!;
    const own = join(dir, 'image-lib');
    mkdirSync(own, { recursive: true });
    copyFileSync(system, join(own, 'libssl.so.3'));
    // the process maps its libssl at import; the scanner looks at a pod's processes at ~0.5, 1 and 2 s
    const script = `import http.client, ssl, sys, time
time.sleep(2.5)
c = http.client.HTTPSConnection('${PROVIDER}', ${port}, context=ssl._create_unverified_context(), source_address=('127.0.0.80', 0))
c.request('POST', '/v1/chat/completions', body=sys.argv[1], headers={'content-type': 'application/json'})
print(c.getresponse().read().decode())`;
    await inPod(['python3', '-c', script, body('marker-imagelib')], { LD_LIBRARY_PATH: own });
    await expectJoined('marker-imagelib', '127.0.0.80');
  });
});
