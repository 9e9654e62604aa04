/**
 * The mock provider upstreams in a process of their own, so a benchmark's
 * client, proxy and upstream do not share one event loop. Prints one JSON line
 * `{ url, port, caCertPem }` on stdout once listening; stops on SIGTERM.
 * argv[2]: pause between streamed SSE frames in ms (default 5).
 */
import { startMockUpstreams } from '@higgs/demo';

const upstreams = await startMockUpstreams({ chunkDelayMs: Number(process.argv[2] ?? 5) });
const keep = setInterval(() => upstreams.reset(), 1000); // forget received requests: a benchmark sends hundreds of thousands
process.stdout.write(`${JSON.stringify({ url: upstreams.url, port: upstreams.port, caCertPem: upstreams.caCertPem })}\n`);
process.once('SIGTERM', () => {
  clearInterval(keep);
  void upstreams.close().then(() => process.exit(0));
});
