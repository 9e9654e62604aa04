/**
 * The agent section of `npm run evals`: seeds the dataset into a real tenant,
 * runs the cases with the offline planner (and, with ANTHROPIC_API_KEY, with
 * Claude), prints the table, and reports the gates not met.
 */
import { DEFAULT_AGENT_MODEL } from '@higgs/agent';
import { formatAgentEvals, runAgentEvals } from './runner.ts';
import { seedDataset } from './dataset.ts';

export async function agentEvalSection(env: { anthropicApiKey?: string | undefined; anthropicModel?: string | undefined; anthropicBaseUrl?: string | undefined }): Promise<string[]> {
  const ds = await seedDataset();
  const failing: string[] = [];
  try {
    const offline = await runAgentEvals(ds);
    console.log(formatAgentEvals(offline));
    failing.push(...offline.failing.map((f) => `agent (offline): ${f}`));
    if (env.anthropicApiKey) {
      const claude = await runAgentEvals(ds, {
        anthropic: { apiKey: env.anthropicApiKey, model: env.anthropicModel ?? DEFAULT_AGENT_MODEL, ...(env.anthropicBaseUrl ? { baseURL: env.anthropicBaseUrl } : {}) },
      });
      console.log(`\n${formatAgentEvals(claude)}`);
      failing.push(...claude.failing.map((f) => `agent (claude): ${f}`));
    }
  } finally {
    await ds.close();
  }
  return failing;
}
