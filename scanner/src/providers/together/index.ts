import { openaiParser } from '../openai/index.ts';
import { openaiFamily } from '../openai-family.ts';

/**
 * Together (`POST /v1/chat/completions` on api.together.xyz / api.together.ai):
 * OpenAI's chat wire format; stream chunks also carry `text` and token ids per
 * choice and the usage in the chunk with the finish reason. Errors use
 * OpenAI's `{ error: { message, type, code } }` envelope.
 * https://docs.together.ai/reference/chat-completions-1
 */
export const togetherParser = openaiFamily(openaiParser, 'together', {
  endpointFor(method, path) {
    return method === 'POST' && path.split('?')[0] === '/v1/chat/completions' ? 'chat' : null;
  },
});
