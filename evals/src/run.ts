/**
 * `npm run evals`: the quality evals. Prints the detector metrics on
 * ../shared/data and the agent eval table, and exits non-zero when either
 * misses its floor.
 */
import { dataMissing } from './detectors/data.ts';
import { evaluateDetectors, formatMetrics } from './detectors/evaluate.ts';
import { agentEvalSection } from './agent/run-agent-evals.ts';

const missing = dataMissing();
if (missing) {
  console.error(`evals: ${missing}`);
  process.exit(2);
}
const { metrics, failing } = evaluateDetectors();
console.log(formatMetrics(metrics));
const detectorsFailing = failing.length > 0;
if (detectorsFailing) console.error(`\n${failing.length} under the floor: ${failing.map((m) => m.name).join(', ')}`);
else console.log('\nall detector floors met');

// The agent evals (evals/src/agent/): run whatever the detectors did, so one run shows both tables.
console.log('');
const agentFailing = await agentEvalSection({ anthropicApiKey: process.env.ANTHROPIC_API_KEY, anthropicModel: process.env.HIGGS_AGENT_MODEL, anthropicBaseUrl: process.env.ANTHROPIC_BASE_URL });
if (agentFailing.length > 0) console.error(`\nagent gates not met: ${agentFailing.join('; ')}`);
else console.log('\nall agent gates met');
if (detectorsFailing || agentFailing.length > 0) process.exit(1);
