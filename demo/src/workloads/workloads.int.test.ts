import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstreams, type MockUpstreams } from '../upstreams/index.ts';
import { generateDemoPki } from '../upstreams/pki.ts';
import { callOnce, createDirectSdkClients, createSdkClients, DEMO_WORKLOADS, runWorkloads, WORKLOAD_SCRIPTS, type CallOutcome, type SdkClients } from './index.ts';

/**
 * A plain CONNECT proxy standing in for the scanner: it records the source
 * address of every tunnel (what the scanner attributes workloads by) and
 * tunnels to `target` whatever host the client asked for.
 */
interface TestProxy {
  url: string;
  tunnels: Array<{ remoteAddress: string | undefined; authority: string | undefined }>;
  close(): Promise<void>;
}

async function startConnectProxy(target: { host: string; port: number }): Promise<TestProxy> {
  const tunnels: TestProxy['tunnels'] = [];
  const sockets = new Set<Socket>();
  const server: HttpServer = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push({ remoteAddress: client.remoteAddress, authority: req.url });
    const upstream = connect(target.port, target.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const [supportBot, internalRag, experiment] = DEMO_WORKLOADS;
const supportPrompts = WORKLOAD_SCRIPTS['support/support-bot']!.prompts;
const ragPrompts = WORKLOAD_SCRIPTS['rag/internal-rag']!.prompts;

let upstreams: MockUpstreams;
let proxy: TestProxy;

beforeAll(async () => {
  upstreams = await startMockUpstreams({ chunkDelayMs: 1 });
  proxy = await startConnectProxy({ host: upstreams.host, port: upstreams.port });
});

afterAll(async () => {
  await proxy?.close();
  await upstreams?.close();
});

describe('createSdkClients + callOnce through a proxy', () => {
  it('connects to the proxy from localAddress and reaches api.openai.com with trace and user headers', async () => {
    const clients = createSdkClients({ proxyUrl: proxy.url, caCertPem: upstreams.caCertPem, localAddress: supportBot!.ip });
    try {
      proxy.tunnels.length = 0;
      upstreams.reset();
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const outcome = await callOnce(clients, supportBot!, supportPrompts[1]!, { userId: 'alice@northwind.example', traceId });
      expect(outcome).toMatchObject({ kind: 'ok', namespace: 'support', app: 'support-bot', traceId, stream: false, finishReason: 'stop' });
      expect(outcome.kind === 'ok' && outcome.text.length).toBeGreaterThan(0);
      expect(proxy.tunnels).toEqual([{ remoteAddress: '127.0.1.1', authority: 'api.openai.com:443' }]);
      const [seen] = upstreams.received;
      expect(seen?.headers.host).toBe('api.openai.com');
      expect(seen?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(seen?.headers.baggage).toBe('user.id=alice@northwind.example');
      expect(seen?.body).toMatchObject({ model: 'gpt-4o-mini' });
    } finally {
      await clients.close();
    }
  });

  it('connects from the default loopback address when no localAddress is given', async () => {
    const clients = createSdkClients({ proxyUrl: proxy.url, caCertPem: upstreams.caCertPem });
    try {
      proxy.tunnels.length = 0;
      await callOnce(clients, supportBot!, supportPrompts[0]!, { userId: 'bob', stream: false });
      expect(proxy.tunnels.map((t) => t.remoteAddress)).toEqual(['127.0.0.1']);
    } finally {
      await clients.close();
    }
  });

  it('streams an Anthropic call to api.anthropic.com and reports text, stop reason and usage', async () => {
    const clients = createSdkClients({ proxyUrl: proxy.url, caCertPem: upstreams.caCertPem, localAddress: internalRag!.ip });
    try {
      proxy.tunnels.length = 0;
      const outcome = await callOnce(clients, internalRag!, ragPrompts[0]!, { userId: 'erin', stream: true });
      expect(outcome).toMatchObject({ kind: 'ok', provider: 'anthropic', stream: true, finishReason: 'end_turn' });
      expect(outcome.kind === 'ok' && outcome.usage?.outputTokens).toBeGreaterThan(0);
      expect(outcome.kind === 'ok' && outcome.text).toMatch(/parental/);
      expect(proxy.tunnels).toEqual([{ remoteAddress: '127.0.1.2', authority: 'api.anthropic.com:443' }]);
    } finally {
      await clients.close();
    }
  });

  it('reports a 403 from the proxy as a blocked outcome with its message', async () => {
    const pki = await generateDemoPki();
    const blocker = createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, (_req, res) => {
      const body = JSON.stringify({ error: { message: 'Blocked by Higgs rule no-ssn', type: 'permission_error', param: null, code: 'higgs_blocked' } });
      res.writeHead(403, { 'content-type': 'application/json', 'x-request-id': 'req_blocked1' }).end(body);
    });
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const blockingProxy = await startConnectProxy({ host: '127.0.0.1', port: (blocker.address() as AddressInfo).port });
    const clients = createSdkClients({ proxyUrl: blockingProxy.url, caCertPem: pki.caCertPem, localAddress: supportBot!.ip });
    try {
      const outcome = await callOnce(clients, supportBot!, supportPrompts[4]!, { userId: 'carol', stream: true });
      expect(outcome).toMatchObject({ kind: 'blocked', status: 403, message: 'Blocked by Higgs rule no-ssn', requestId: 'req_blocked1' });
    } finally {
      await clients.close();
      await blockingProxy.close();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('reports an unreachable proxy as an error outcome instead of throwing', async () => {
    const clients = createSdkClients({ proxyUrl: `http://127.0.0.1:${await closedPort()}`, caCertPem: upstreams.caCertPem });
    await expectConnectRefused(clients);
  });
});

describe('createDirectSdkClients: an unconfigured workload', () => {
  it('reaches the provider at its address with no proxy, keeping api.openai.com in SNI and Host', async () => {
    const route = { host: upstreams.host, port: upstreams.port, caCertPem: upstreams.caCertPem };
    const clients = createDirectSdkClients(route, { localAddress: experiment!.ip });
    try {
      proxy.tunnels.length = 0;
      upstreams.reset();
      const prompts = WORKLOAD_SCRIPTS['sandbox/experiment']!.prompts;
      const first = await callOnce(clients, experiment!, prompts[0]!, { userId: 'grace' });
      const second = await callOnce(clients, experiment!, prompts[2]!, { userId: 'heidi@northwind.example', stream: true });
      expect([first.kind, second.kind]).toEqual(['ok', 'ok']);
      expect(proxy.tunnels).toEqual([]);
      expect(upstreams.received.map((r) => [r.provider, r.headers.host, r.headers.baggage])).toEqual([
        ['openai', 'api.openai.com', 'user.id=grace'], ['openai', 'api.openai.com', 'user.id=heidi@northwind.example'],
      ]);
    } finally {
      await clients.close();
    }
  });

  it('reports a refused connect as an error outcome with its code', async () => {
    const clients = createDirectSdkClients({ host: '127.0.0.1', port: await closedPort(), caCertPem: upstreams.caCertPem });
    await expectConnectRefused(clients);
  });

  it('does not trust a certificate from another CA', async () => {
    const other = await generateDemoPki();
    const clients = createDirectSdkClients({ host: upstreams.host, port: upstreams.port, caCertPem: other.caCertPem });
    try {
      const outcome = await callOnce(clients, experiment!, WORKLOAD_SCRIPTS['sandbox/experiment']!.prompts[0]!, { userId: 'grace' });
      expect(outcome).toMatchObject({ kind: 'error', status: null });
    } finally {
      await clients.close();
    }
  });
});

describe('runWorkloads', () => {
  it('drives every workload from its own IP until aborted', async () => {
    proxy.tunnels.length = 0;
    const outcomes: CallOutcome[] = [];
    const controller = new AbortController();
    const done = runWorkloads({
      proxyUrl: proxy.url,
      caCertPem: upstreams.caCertPem,
      intervalMs: 5,
      signal: controller.signal,
      onOutcome: (o) => {
        outcomes.push(o);
        const perApp = new Set(outcomes.map((x) => x.app));
        if (perApp.size === DEMO_WORKLOADS.length && outcomes.length >= 9) controller.abort();
      },
    });
    await done;
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
    expect(new Set(outcomes.map((o) => o.app))).toEqual(new Set(['support-bot', 'internal-rag', 'experiment']));
    expect(new Set(proxy.tunnels.map((t) => t.remoteAddress))).toEqual(new Set(DEMO_WORKLOADS.map((w) => w.ip)));
    expect(new Set(outcomes.map((o) => o.stream))).toEqual(new Set([true, false]));
  });

  it('keeps going through failures and stops when aborted', async () => {
    const outcomes: CallOutcome[] = [];
    const controller = new AbortController();
    await runWorkloads({
      proxyUrl: `http://127.0.0.1:${await closedPort()}`,
      caCertPem: upstreams.caCertPem,
      intervalMs: 5,
      signal: controller.signal,
      workloads: [experiment!],
      onOutcome: (o) => {
        outcomes.push(o);
        if (outcomes.length === 3) controller.abort();
        throw new Error('a faulty observer');
      },
    });
    expect(outcomes).toHaveLength(3);
    expect(outcomes.every((o) => o.kind === 'error')).toBe(true);
  });
});

/** A call through `clients` (closed afterwards) whose connect is refused is an error outcome naming ECONNREFUSED, not a throw. */
async function expectConnectRefused(clients: SdkClients): Promise<void> {
  try {
    const outcome = await callOnce(clients, experiment!, WORKLOAD_SCRIPTS['sandbox/experiment']!.prompts[0]!, { userId: 'grace' });
    expect(outcome).toMatchObject({ kind: 'error', status: null });
    expect(outcome.kind === 'error' && outcome.message).toMatch(/ECONNREFUSED/);
  } finally {
    await clients.close();
  }
}
