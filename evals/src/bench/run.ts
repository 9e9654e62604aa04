/**
 * `npm run bench`: runs every `evals/src/bench/*.bench.ts` (each exports
 * `run(): Promise<BenchResult[]>`) one after the other, so they do not compete
 * for the two cores, and prints one table.
 *
 *   npm run bench                   # all benches, a table
 *   npm run bench -- proxy rules    # only the benches whose file name contains a word
 *   npm run bench -- --json         # the results as JSON on stdout (progress goes to stderr)
 *   npm run bench -- --strict       # exit 1 when a figure misses its target
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchResult } from './types.ts';

interface BenchModule { run(): Promise<BenchResult[]> }

const args = process.argv.slice(2);
const json = args.includes('--json');
const strict = args.includes('--strict');
const only = args.filter((a) => !a.startsWith('--'));

const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((w) => f.includes(w)))
  .sort();

const results: Array<BenchResult & { bench: string }> = [];
let broken = 0;
for (const file of files) {
  const bench = file.replace(/\.bench\.ts$/, '');
  process.stderr.write(`bench ${bench} …\n`);
  const started = performance.now();
  try {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as BenchModule;
    for (const r of await mod.run()) results.push({ bench, ...r });
    process.stderr.write(`bench ${bench} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    broken += 1;
    process.stderr.write(`bench ${bench} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  }
}

if (json) {
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} else {
  process.stdout.write(`${formatTable(results)}\n`);
}
const missed = results.filter((r) => r.pass === false).length;
if (missed > 0) process.stderr.write(`${missed} figure(s) missed the target\n`);
process.exitCode = broken > 0 || (strict && missed > 0) ? 1 : 0;

function num(v: number | undefined): string {
  if (v === undefined) return '';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** A plain-text table: name, value, unit, baseline, ratio, target, pass. */
function formatTable(rows: ReadonlyArray<BenchResult & { bench: string }>): string {
  const header = ['bench', 'name', 'value', 'unit', 'baseline', 'ratio', 'target', 'pass'];
  const body = rows.map((r) => [
    r.bench, r.name, num(r.value), r.unit, num(r.baseline), r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`, r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const numeric = new Set([2, 4, 5]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
