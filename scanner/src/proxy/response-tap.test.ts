import { describe, expect, it } from 'vitest';
import { openaiParser } from '../providers/openai/index.ts';
import type { ProviderParser } from '../providers/types.ts';
import { MAX_PARSE_BYTES, responseTap } from './exchange.ts';

const chunk = (content: string): Buffer => Buffer.from(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`);

describe('responseTap', () => {
  it('parses a stream as it passes', async () => {
    const tap = responseTap(openaiParser, 'text/event-stream', undefined);
    for (const t of ['Hello', ', ', 'world']) tap.write(chunk(t));
    tap.write(Buffer.from('data: [DONE]\n\n'));
    expect((await tap.end())?.content).toBe('Hello, world');
  });

  it('lets go of a stream past the parse limit, as of a buffered answer: recorded without its content', async () => {
    const tap = responseTap(openaiParser, 'text/event-stream', undefined);
    const piece = chunk('x'.repeat(64 * 1024));
    let sent = 0;
    while (sent <= MAX_PARSE_BYTES) {
      tap.write(piece);
      sent += piece.length;
    }
    expect(await tap.end()).toBeNull();

    const buffered = responseTap(openaiParser, 'application/json', undefined);
    const body = Buffer.from(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'y'.repeat(MAX_PARSE_BYTES) }, finish_reason: 'stop' }] }));
    buffered.write(body);
    expect(await buffered.end()).toBeNull();
  });

  it('a stream parser that throws costs the record its response, never an exception out of write()', async () => {
    const throwing: ProviderParser = {
      ...openaiParser,
      streamParser: () => ({
        push: (text) => { if (text.includes('boom')) throw new TypeError('parser bug'); },
        end: () => { throw new TypeError('never reached'); },
      }),
    };
    const tap = responseTap(throwing, 'text/event-stream', undefined);
    tap.write(chunk('fine'));
    expect(() => tap.write(chunk('boom'))).not.toThrow();
    tap.write(chunk('after'));
    expect(await tap.end()).toBeNull();

    // and one that throws only at the end
    const late = responseTap({ ...openaiParser, streamParser: () => ({ push: () => undefined, end: () => { throw new TypeError('bug'); } }) }, 'text/event-stream', undefined);
    late.write(chunk('fine'));
    await expect(late.end()).resolves.toBeNull();
  });
});
