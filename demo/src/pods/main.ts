/**
 * A pod process: one simulated workload, started by the launcher inside its
 * cgroup. It makes its scripted LLM calls and/or serves its hop of the
 * three-hop path, reports on stdout, and ends when its stdin does: a stop,
 * or the launcher dying, ends the pod.
 */
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { startHop } from '../hops/index.ts';
import { runWorkloads } from '../workloads/index.ts';
import { NextHop, parseLine, PodSpec, type PodMessage } from './protocol.ts';

const report = (m: PodMessage): void => {
  process.stdout.write(`${JSON.stringify(m)}\n`);
};

async function main(): Promise<void> {
  const spec = PodSpec.parse(JSON.parse(process.argv[2] ?? 'null'));
  const stop = new AbortController();
  let next: { port: number } | null = null;
  const stdin = createInterface({ input: process.stdin });
  stdin.on('line', (line) => {
    const msg = parseLine(NextHop, line);
    if (msg) next = { port: msg.port };
    else process.stderr.write(`pod ${spec.workload.namespace}/${spec.workload.app}: an unreadable line from the launcher (${line.length} bytes)\n`);
  });
  stdin.on('close', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());

  const hop = spec.hop
    ? await startHop(spec.hop.role, { proxyUrl: spec.proxyUrl, caCertPem: spec.caCertPem, jwtSecret: spec.hop.jwtSecret, next: () => next })
    : null;
  try {
    if (hop) report({ type: 'listening', port: hop.port });
    const calls = spec.calls;
    if (calls) {
      await delay(calls.startDelayMs, undefined, { signal: stop.signal }).catch(() => undefined);
      await runWorkloads({
        proxyUrl: spec.proxyUrl, caCertPem: spec.caCertPem, intervalMs: calls.intervalMs, signal: stop.signal, workloads: [spec.workload],
        ...(calls.direct ? { direct: calls.direct } : {}),
        onOutcome: (outcome) => report({ type: 'outcome', outcome }),
      });
    }
    if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    await hop?.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`pod failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
