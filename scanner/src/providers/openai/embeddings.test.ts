import { describe, expect, it } from 'vitest';
import { openaiEmbeddingsParser as parser } from './embeddings.ts';

describe('openai embeddings parser', () => {
  it('records each string input as a user message, never token ids', () => {
    expect(parser.endpointFor('POST', '/v1/embeddings')).toBe('embeddings');
    expect(parser.parseRequest('embeddings', { model: 'text-embedding-3-small', input: 'hello', user: 'u1' })).toMatchObject({
      model: 'text-embedding-3-small', stream: false, messages: [{ role: 'user', content: 'hello' }], providerUser: 'u1',
    });
    expect(parser.parseRequest('embeddings', { model: 'm', input: ['a', 'b'], encoding_format: 'base64' }).messages.map((m) => m.content)).toEqual(['a', 'b']);
    expect(parser.parseRequest('embeddings', { model: 'm', input: [[1, 2, 3]] }).messages).toEqual([]);
    expect(() => parser.parseRequest('embeddings', { model: 'm' })).toThrow();
  });

  it('reads usage and no text from the response', () => {
    const body = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2] }], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } };
    expect(parser.parseResponse(body)).toEqual({ content: null, finishReason: null, toolCalls: [], usage: { inputTokens: 8, outputTokens: 0 }, error: null });
  });

  it('redacts string inputs only', () => {
    expect(parser.redactRequest({ model: 'm', input: ['a secret', [1, 2]] }, (t) => t.replace('secret', '[X]'))).toEqual({ model: 'm', input: ['a [X]', [1, 2]] });
  });
});
