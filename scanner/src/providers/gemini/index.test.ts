import { describe, expect, it } from 'vitest';
import { geminiParser } from './index.ts';

// Wire shapes from https://ai.google.dev/api/generate-content (REST), as @google/genai sends them.
const request = {
  contents: [
    { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] },
    { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
    { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature: 21 } } }, { text: 'And tomorrow?' }] },
  ],
  systemInstruction: { role: 'user', parts: [{ text: 'You are a weather bot.' }] },
  tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'd', parameters: { type: 'OBJECT' } }] }],
  generationConfig: { maxOutputTokens: 100 },
};

describe('gemini parser', () => {
  it('routes generateContent and streamGenerateContent, v1 and v1beta', () => {
    expect(geminiParser.endpointFor('POST', '/v1beta/models/gemini-2.5-flash:generateContent')).toBe('generate_content');
    expect(geminiParser.endpointFor('POST', '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')).toBe('generate_content');
    expect(geminiParser.endpointFor('POST', '/v1/models/gemini-2.0-flash:generateContent')).toBe('generate_content');
    expect(geminiParser.endpointFor('POST', '/v1beta/models/gemini-2.5-flash:countTokens')).toBeNull();
    expect(geminiParser.endpointFor('GET', '/v1beta/models/gemini-2.5-flash:generateContent')).toBeNull();
  });

  it('parses contents, function calls and responses, the system instruction and declared tools', () => {
    const p = geminiParser.parseRequest('generate_content', request, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(p).toMatchObject({ provider: 'gemini', model: 'gemini-2.5-flash', stream: true, system: 'You are a weather bot.', tools: ['get_weather'] });
    expect(p.messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '{"city":"Paris"}', toolName: 'get_weather' },
      { role: 'tool', content: '{"temperature":21}', toolName: 'get_weather' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
    expect(() => geminiParser.parseRequest('generate_content', { prompt: 'x' })).toThrow();
  });

  it('parses a response with usage, and a function call', () => {
    const r = geminiParser.parseResponse({
      candidates: [{ content: { role: 'model', parts: [{ text: 'Sunny, ' }, { text: '21°C.' }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 5, totalTokenCount: 20, thoughtsTokenCount: 4 },
      modelVersion: 'gemini-2.5-flash', responseId: 'abc',
    });
    expect(r).toEqual({ content: 'Sunny, 21°C.', finishReason: 'STOP', toolCalls: [], usage: { inputTokens: 11, outputTokens: 9 }, error: null });
    const call = geminiParser.parseResponse({ candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] }, finishReason: 'STOP' }] });
    expect(call.toolCalls).toEqual([{ id: null, name: 'get_weather', input: '{"city":"Oslo"}' }]);
    expect(geminiParser.parseResponse({ error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT' } }).error).toBe('API key not valid.');
  });

  it('folds an SSE stream split at every byte into one response', () => {
    const sse = [
      { candidates: [{ content: { role: 'model', parts: [{ text: 'It is' }] }, index: 0 }], usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } },
      { candidates: [{ content: { role: 'model', parts: [{ text: ' sunny.' }] }, index: 0 }] },
      { candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 4, totalTokenCount: 12 } },
    ].map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join('');
    for (const step of [1, 5, sse.length]) {
      const s = geminiParser.streamParser();
      for (let i = 0; i < sse.length; i += step) s.push(sse.slice(i, i + step));
      expect(s.end()).toEqual({ content: 'It is sunny.', finishReason: 'STOP', toolCalls: [], usage: { inputTokens: 8, outputTokens: 4 }, error: null });
    }
  });

  it('redacts text parts, function arguments and the system instruction; blocks as google.rpc.Status 403', () => {
    const out = geminiParser.redactRequest(request, (t) => t.replace(/Paris/g, '[CITY]')) as typeof request;
    expect(JSON.stringify(out)).not.toContain('Paris');
    expect(out.contents[0]!.parts[0]).toEqual({ text: 'What is the weather in [CITY]?' });
    expect(geminiParser.blockedResponse({ message: 'Blocked by Higgs', ruleId: 'r', decisionId: 'd' }))
      .toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED', message: 'Blocked by Higgs' } });
  });
});
