/** One figure a benchmark measured; `npm run bench` prints them as a table. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** the same measure on the direct path, when there is one */
  baseline?: number;
  /** value / baseline */
  ratio?: number;
  /** the target as written in the issue, e.g. "p99 <= 200 us" */
  target?: string;
  pass?: boolean;
}
