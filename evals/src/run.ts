/**
 * `npm run evals`: the quality evals. Prints the detector metrics on
 * ../shared/data and exits non-zero when one is under its floor.
 */
import { dataMissing } from './detectors/data.ts';
import { evaluateDetectors, formatMetrics } from './detectors/evaluate.ts';

const missing = dataMissing();
if (missing) {
  console.error(`evals: ${missing}`);
  process.exit(2);
}
const { metrics, failing } = evaluateDetectors();
console.log(formatMetrics(metrics));
if (failing.length > 0) {
  console.error(`\n${failing.length} under the floor: ${failing.map((m) => m.name).join(', ')}`);
  process.exit(1);
}
console.log('\nall detector floors met');
