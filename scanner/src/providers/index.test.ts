import { describe, expect, it } from 'vitest';
import { hostMatches, parserFor, providerForHost } from './index.ts';

describe('host patterns', () => {
  it('matches exact hosts case-insensitively and `*` as one or more label characters, never across a suffix trick', () => {
    expect(hostMatches('api.openai.com', 'API.OpenAI.com')).toBe(true);
    expect(hostMatches('bedrock-runtime.*.amazonaws.com', 'bedrock-runtime.eu-west-1.amazonaws.com')).toBe(true);
    expect(hostMatches('bedrock-runtime.*.amazonaws.com', 'bedrock-runtime..amazonaws.com.evil.example')).toBe(false);
    expect(hostMatches('*.openai.azure.com', 'openai.azure.com')).toBe(false);
    // the second call reads the compiled pattern: same answers
    expect(hostMatches('*.openai.azure.com', 'acme.openai.azure.com')).toBe(true);
    expect(hostMatches('*.openai.azure.com', 'acme.openai.azure.com.example')).toBe(false);
  });

  it('parses a known host by its own provider first, an unknown host by path shape', () => {
    expect(providerForHost('api.mistral.ai')).toBe('mistral');
    expect(parserFor('POST', '/v1/chat/completions', 'api.mistral.ai')?.parser.provider).toBe('mistral');
    expect(parserFor('POST', '/v1/chat/completions', 'api.mistral.ai')?.parser.provider).toBe('mistral');
    expect(parserFor('POST', '/v1/chat/completions', 'vllm.internal')?.parser.provider).toBe('openai');
    expect(parserFor('GET', '/v1/models', 'api.openai.com')).toBeNull();
  });
});
