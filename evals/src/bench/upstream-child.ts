/**
 * The mock provider upstreams in a process of their own, so a benchmark's
 * client, proxy and upstream do not share one event loop. Prints one JSON line
 * `{ url, port, caCertPem }` on stdout once listening; stops on SIGTERM.
 *
 * argv[2]:
 * - a number: the `demo` mock upstreams (every provider's real wire format),
 *   with that pause between streamed SSE frames in ms (default 5);
 * - `canned`: one keep-alive HTTPS endpoint (HTTP/2, and HTTP/1.1 for clients
 *   that do not offer it), `POST /v1/chat/completions`,
 *   answering every request with the same precomputed OpenAI `chat.completion`
 *   (about 600 bytes). It reads the whole request and answers 400 to an empty
 *   or non-JSON-looking body, so a proxy that mangles the request is seen, but
 *   it does no per-request parsing or formatting: the client and this upstream
 *   share one core in the proxy bench, and the upstream's cost must not be
 *   what limits the rate measured through the proxy.
 */
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { startMockUpstreams } from '@higgs/demo';
import { selfSigned } from './self-signed.ts';

const mode = process.argv[2] ?? '5';

if (mode === 'canned') await startCanned();
else await startDemo(Number(mode));

async function startDemo(chunkDelayMs: number): Promise<void> {
  const upstreams = await startMockUpstreams({ chunkDelayMs });
  const keep = setInterval(() => upstreams.reset(), 1000); // forget received requests: a benchmark sends hundreds of thousands
  process.stdout.write(`${JSON.stringify({ url: upstreams.url, port: upstreams.port, caCertPem: upstreams.caCertPem })}\n`);
  process.once('SIGTERM', () => {
    clearInterval(keep);
    void upstreams.close().then(() => process.exit(0));
  });
}

async function startCanned(): Promise<void> {
  const { keyPem, certPem } = selfSigned();
  const completion = Buffer.from(JSON.stringify({
    id: 'chatcmpl-bench0000000000000000000000', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: 'gpt-4o-mini-2024-07-18',
    choices: [{
      index: 0, logprobs: null, finish_reason: 'stop',
      message: { role: 'assistant', refusal: null, content: '- Delivery times improved 4% quarter on quarter.\n- Warehouse throughput is flat.\n- The ticket backlog needs an owner before the planning meeting.' },
    }],
    usage: { prompt_tokens: 230, completion_tokens: 31, total_tokens: 261, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    system_fingerprint: 'fp_higgsbench',
  }));
  const okHeaders = { 'content-type': 'application/json', 'content-length': String(completion.length), 'openai-processing-ms': '1' };
  const bad = Buffer.from('{"error":{"message":"empty or non-JSON body","type":"invalid_request_error","param":null,"code":null}}');
  const badHeaders = { 'content-type': 'application/json', 'content-length': String(bad.length) };
  // HTTP/2 with HTTP/1.1 for clients that do not offer it, as the providers' front ends: the load
  // generator's direct path speaks HTTP/1.1, the scanner negotiates HTTP/2
  const server = createSecureServer({ key: keyPem, cert: certPem, allowHTTP1: true, settings: { maxConcurrentStreams: 1000 } }, (req, res) => {
    let size = 0;
    let first = -1;
    req.on('data', (chunk: Buffer) => {
      if (first < 0) first = chunk[0]!;
      size += chunk.length;
    });
    req.on('end', () => {
      const ok = req.method === 'POST' && req.url === '/v1/chat/completions' && size > 0 && first === 0x7b; // '{'
      res.writeHead(ok ? 200 : 400, ok ? okHeaders : badHeaders).end(ok ? completion : bad);
    });
  });
  // read by the HTTP/1.1 fallback's connection handler: the load generator's pool stays connected between runs
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 120_000;
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${port}`, port, caCertPem: certPem })}\n`);
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    for (const socket of sockets) socket.destroy();
  });
}
