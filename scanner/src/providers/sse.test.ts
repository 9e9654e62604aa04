import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScannerError } from '../errors.ts';
import { SseDecoder, type SseEvent } from './sse.ts';

/** The events of a whole stream by the WHATWG rules, read at once: the reference the incremental decoder must agree with. */
function reference(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  let event = '';
  let data: string[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  // a stream that ends inside a line or an event dispatches what it holds (the decoder's end())
  lines.push('');
  for (const line of lines) {
    if (line === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  }
  return out;
}

function decode(pieces: string[], max?: number): SseEvent[] {
  const out: SseEvent[] = [];
  const d = new SseDecoder((e) => out.push(e), max);
  for (const p of pieces) d.push(p);
  d.end();
  return out;
}

// streams as providers send them, and as they may be broken: any line ending, comments, several data lines, stray text
const eol = fc.constantFrom('\n', '\r\n', '\r');
const line = fc.oneof(
  fc.tuple(fc.constantFrom('data: ', 'data:', 'event: ', ': ', 'id: ', 'data'), fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ''))).map(([f, v]) => f + v),
  fc.constant(''),
);
const stream = fc.array(fc.tuple(line, eol).map(([l, e]) => l + e), { maxLength: 30 }).chain((lines) =>
  fc.tuple(fc.constant(lines.join('')), fc.string({ maxLength: 8 }).map((s) => s.replace(/[\r\n]/g, ''))).map(([t, tail]) => t + tail));

/** `text` cut at the given positions (sorted, deduplicated, inside the text). */
function cut(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(text.slice(from, p));
    from = p;
  }
  pieces.push(text.slice(from));
  return pieces;
}

describe('SseDecoder', () => {
  it('decodes a stream cut anywhere, a CR LF pair included, as the reference reads it whole', () => {
    fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (text, at) => {
      expect(decode(cut(text, at))).toEqual(reference(text));
    }), { numRuns: 500 });
  });

  it('delivers an event of exactly its bound, and refuses the stream once one grows past it, for good', () => {
    // held at most: the first data line (50) and the unfinished second line ('data: ' and 10) = 66 characters
    const pieces = ['data: ', 'x'.repeat(50), '\n', 'data: ', 'y'.repeat(10), '\n\n'];
    expect(decode(pieces, 66)).toEqual([{ event: 'message', data: `${'x'.repeat(50)}\n${'y'.repeat(10)}` }]);
    expect(() => decode(pieces, 65)).toThrow(/over 65 characters/);
    // the bound counts one event: many events, each within it, pass whatever their total
    expect(decode(Array.from({ length: 100 }, () => `data: ${'z'.repeat(40)}\n\n`), 66)).toHaveLength(100);

    const d = new SseDecoder(() => undefined, 64);
    d.push('data: ');
    const grow = (): void => {
      for (let i = 0; i < 10; i++) d.push('a'.repeat(10)); // a line that never ends
    };
    expect(grow).toThrow(ScannerError);
    try {
      d.push('\n\n');
      expect.unreachable();
    } catch (err) {
      expect((err as ScannerError).code).toBe('SSE_EVENT_TOO_LARGE');
    }
    expect(() => d.end()).toThrow(/over 64 characters/);
  });
});
