import { detectPii, detectStructuredPii, injectionScore } from '@higgs/scanner/detectors';
import type { BenchResult } from './types.ts';

// A 4 KB prompt shaped like real traffic: prose, a retrieved document, a few PII values.
function prompt4k(): string {
  const parts = [
    'Question: summarise the vendor onboarding requirements for the new logistics partner and list the contacts.\n',
    'Retrieved documents:\n[1] Procurement wiki: every vendor completes the security questionnaire, signs the data processing agreement ',
    'and is reviewed by legal before receiving production access. Contact Jane Roe at jane.roe@example.com or (415) 555-0199.\n',
    '[2] Billing note: card 4539 1488 0343 6467 on file, invoices to 2249 College Street, Grand Rapids, MI 49503. ',
    'The gateway at 10.20.30.40 rotates keys monthly; escalation goes to the on-call engineer. ',
  ];
  let text = '';
  for (let i = 0; text.length < 4096; i++) text += parts[i % parts.length];
  return text.slice(0, 4096);
}

const SAMPLES = 2_000;
const RUNS = 5;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Measured { p50: number; p99: number; cpu: number }

// `RUNS` runs of `SAMPLES` timed calls; the medians over runs of p50, p99 and CPU time per call
async function measure(fn: () => void): Promise<Measured> {
  for (let i = 0; i < SAMPLES; i++) fn();
  const runs: Measured[] = [];
  for (let r = 0; r < RUNS; r++) {
    const samples = new Float64Array(SAMPLES);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = process.hrtime.bigint();
      fn();
      samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    }
    const cpu = process.cpuUsage(cpu0);
    samples.sort();
    runs.push({ p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), cpu: (cpu.user + cpu.system) / SAMPLES });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), cpu: median(runs.map((r) => r.cpu)) };
}

/**
 * PII + secrets + injection on a 4 KB prompt, per call, microseconds (issue 3:
 * p99 <= 300 us). Two passes: `structured` (validated types, no names or
 * addresses: what the proxy can run on the hot path) and `full`. The baseline
 * is JSON.parse of the request body carrying the same prompt, measured in the
 * same run: every inspected call pays it, and it moves with the machine's load
 * as the detectors do, so the ratio is comparable between runs where the
 * absolute figures are not.
 */
export async function run(): Promise<BenchResult[]> {
  const text = prompt4k();
  // two prompts that differ in their last character, taken in turn: the detectors share one hint
  // pass per text (hints.ts) and reuse it while the text stays the same, so a single prompt would
  // leave that pass out of every call after the first, which traffic never does
  const texts = [text, `${text.slice(0, -1)}.`];
  let turn = 0;
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] });
  const baseline = await measure(() => { JSON.parse(body); });
  const structured = await measure(() => { const t = texts[turn++ & 1]!; detectStructuredPii(t); injectionScore(t); });
  const full = await measure(() => { const t = texts[turn++ & 1]!; detectPii(t); injectionScore(t); });
  const us = (x: number) => Math.round(x * 10) / 10;
  const row = (name: string, value: number, base: number, target?: number): BenchResult => ({
    name, value: us(value), unit: 'us', baseline: us(base), ratio: value / base,
    ...(target === undefined ? {} : { target: `p99 <= ${target} us`, pass: value <= target }),
  });
  const scaling = largePrompts();
  return [
    ...scaling,
    row('detectors: structured PII + injection, 4 KB, p50', structured.p50, baseline.p50),
    row('detectors: structured PII + injection, 4 KB, p99', structured.p99, baseline.p99, 300),
    row('detectors: structured PII + injection, 4 KB, CPU/call', structured.cpu, baseline.cpu),
    row('detectors: full PII (names, addresses) + injection, 4 KB, p50', full.p50, baseline.p50),
    row('detectors: full PII (names, addresses) + injection, 4 KB, p99', full.p99, baseline.p99, 300),
    row('detectors: full PII (names, addresses) + injection, 4 KB, CPU/call', full.cpu, baseline.cpu),
  ];
}

/**
 * A prompt of 1 MB and one of 4 MB dense with PII (an e-mail, a phone number and a card every 140
 * characters), full pass + injection, the median of 3 calls each: detection must stay linear in the
 * text, since it runs on the proxy's event loop and a workload chooses its prompt's size (up to
 * HIGGS_MAX_BODY_BYTES). The ratio of the two is ~4 when it is; it was ~60 with the overlap check
 * that compared every span with every other (50 s for 8 MB).
 */
function largePrompts(): BenchResult[] {
  const line = 'Please review the attached logs from the payment gateway. Contact Jane Roe at jane.roe@example.com or (415) 555-0199 about card 4539 1488 0343 6467. ';
  const timed = (mb: number): number => {
    const text = line.repeat(Math.ceil((mb * 1024 * 1024) / line.length));
    const runs = [0, 1, 2].map((i) => {
      const t = `${text}${i}`;
      const started = performance.now();
      detectPii(t);
      injectionScore(t);
      return performance.now() - started;
    });
    return median(runs);
  };
  const one = timed(1);
  const four = timed(4);
  return [
    { name: 'detectors: full PII + injection, 1 MB prompt dense with PII, median of 3', value: Math.round(one), unit: 'ms' },
    { name: 'detectors: the same, 4 MB (baseline: 1 MB; linear is ~4x)', value: Math.round(four), unit: 'ms', baseline: Math.round(one), ratio: four / one, target: 'ratio <= 8 (quadratic: ~16)', pass: four / one <= 8 },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
