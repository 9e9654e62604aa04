import { describe, expect, it } from 'vitest';
import { parserFor } from '../index.ts';

describe('together parser', () => {
  it('is chosen on both Together hosts and records provider together', () => {
    for (const host of ['api.together.xyz', 'api.together.ai']) {
      const route = parserFor('POST', '/v1/chat/completions', host)!;
      expect(route.parser.provider).toBe('together');
      expect(route.parser.parseRequest(route.endpoint, { model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', messages: [{ role: 'user', content: 'hi' }], repetition_penalty: 1 }))
        .toMatchObject({ provider: 'together', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', messages: [{ role: 'user', content: 'hi' }] });
    }
  });

  it('reads Together stream chunks (text and token ids per choice, usage with the finish reason)', () => {
    const s = parserFor('POST', '/v1/chat/completions', 'api.together.xyz')!.parser.streamParser();
    s.push('data: {"id":"t1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"text":"Hi","logprobs":null,"finish_reason":null,"seed":null,"delta":{"token_id":13347,"role":"assistant","content":"Hi","tool_calls":null}}],"usage":null}\n\n');
    s.push('data: {"id":"t1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"text":"!","logprobs":null,"finish_reason":"eos","seed":42,"delta":{"token_id":0,"role":"assistant","content":"!","tool_calls":null}}],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}\n\ndata: [DONE]\n\n');
    expect(s.end()).toEqual({ content: 'Hi!', finishReason: 'eos', toolCalls: [], usage: { inputTokens: 4, outputTokens: 2 }, error: null });
  });
});
