import { openaiParser } from '../openai/index.ts';
import { openaiFamily } from '../openai-family.ts';
import type { BlockedBody } from '../types.ts';

/**
 * Mistral chat (`POST /v1/chat/completions` on api.mistral.ai): OpenAI's
 * shape with Mistral's differences, which the OpenAI parser accepts — content
 * as a string or a list of chunks (in stream deltas too), tool-call
 * `arguments` as a JSON string or an object, `safe_prompt` / `prompt_mode`,
 * usage in the last stream chunk. Errors carry `object: "error"` at the top
 * level, not OpenAI's `error` envelope.
 * https://docs.mistral.ai/api/#tag/chat
 */
export const mistralParser = openaiFamily(openaiParser, 'mistral', {
  endpointFor(method, path) {
    return method === 'POST' && path.split('?')[0] === '/v1/chat/completions' ? 'chat' : null;
  },
  blockedResponse({ message, ruleId, decisionId }: BlockedBody) {
    return { object: 'error', message, type: 'higgs_policy_violation', param: null, code: 'higgs_blocked', higgs: { rule_id: ruleId, decision_id: decisionId } };
  },
});
