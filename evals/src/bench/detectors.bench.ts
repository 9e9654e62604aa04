import { detectPii, injectionScore } from '@higgs/scanner/detectors';
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

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** PII + secrets + injection on a 4 KB prompt, per call, microseconds (issue 3: p99 <= 300 us). */
export async function run(): Promise<BenchResult[]> {
  const text = prompt4k();
  const detect = () => {
    detectPii(text);
    injectionScore(text);
  };
  for (let i = 0; i < 2_000; i++) detect();
  const runs: { p50: number; p99: number }[] = [];
  for (let r = 0; r < 5; r++) {
    const samples = new Float64Array(2_000);
    for (let i = 0; i < samples.length; i++) {
      const t0 = process.hrtime.bigint();
      detect();
      samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    }
    samples.sort();
    runs.push({ p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) });
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p50 = median(runs.map((r) => r.p50));
  const p99 = median(runs.map((r) => r.p99));
  return [
    { name: 'detectors (PII+secrets+injection), 4 KB prompt, p50', value: Math.round(p50), unit: 'us' },
    { name: 'detectors (PII+secrets+injection), 4 KB prompt, p99', value: Math.round(p99), unit: 'us', target: 'p99 <= 300 us', pass: p99 <= 300 },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
