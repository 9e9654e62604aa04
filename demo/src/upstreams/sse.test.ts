import { describe, expect, it } from 'vitest';
import { sseFrame, splitIntoDeltas } from './sse.ts';

describe('sseFrame', () => {
  it('frames an unnamed JSON event as one data line and a blank line', () => {
    expect(sseFrame({ a: 1 })).toBe('data: {"a":1}\n\n');
  });

  it('passes a raw string through, as for the OpenAI [DONE] sentinel', () => {
    expect(sseFrame('[DONE]')).toBe('data: [DONE]\n\n');
  });

  it('names the event before its data, as Anthropic does', () => {
    expect(sseFrame({ type: 'ping' }, 'ping')).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });

  it('keeps a multi-line payload inside one event', () => {
    expect(sseFrame('a\nb')).toBe('data: a\ndata: b\n\n');
  });
});

describe('splitIntoDeltas', () => {
  it('splits at word boundaries into pieces that rebuild the text exactly', () => {
    const text = '  Happy to help. Start with the official guidance, then check settings.';
    const deltas = splitIntoDeltas(text, 4);
    expect(deltas.join('')).toBe(text);
    expect(deltas.length).toBe(4);
    expect(deltas.every((d) => d.length > 0)).toBe(true);
  });

  it('returns one delta for a one-word text and none for an empty one', () => {
    expect(splitIntoDeltas('ok', 5)).toEqual(['ok']);
    expect(splitIntoDeltas('', 5)).toEqual([]);
  });
});
