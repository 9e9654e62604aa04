import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { readChatEvents, readNdjson } from './ndjson.ts';

/** A byte stream delivering exactly these chunks, recording whether the reader cancelled it. */
function streamOf(chunks: (string | Uint8Array)[]): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  const encoder = new TextEncoder();
  let cancelled = false;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe('readNdjson', () => {
  it('joins a line split across chunks', async () => {
    const { stream } = streamOf(['{"a":', '1}\n{"b"', ':2}\n']);
    expect(await collect(readNdjson(stream))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('yields several lines from one chunk, skipping blank lines and CRLF endings', async () => {
    const { stream } = streamOf(['{"a":1}\r\n\n{"b":2}\r\n\r\n']);
    expect(await collect(readNdjson(stream))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('reads a final line that has no trailing newline', async () => {
    const { stream } = streamOf(['{"a":1}\n{"b":2}']);
    expect(await collect(readNdjson(stream))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('decodes a multi-byte character split between chunks', async () => {
    const bytes = new TextEncoder().encode('{"t":"get_finding ✓"}\n');
    const cut = bytes.indexOf(0xe2) + 1; // inside the 3-byte ✓
    const { stream } = streamOf([bytes.slice(0, cut), bytes.slice(cut)]);
    expect(await collect(readNdjson(stream))).toEqual([{ t: 'get_finding ✓' }]);
  });

  it('yields each value as soon as its line is complete, before the stream ends', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const encoder = new TextEncoder();
    let step = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step++ === 0) return controller.enqueue(encoder.encode('{"n":1}\n'));
        await gate;
        controller.enqueue(encoder.encode('{"n":2}\n'));
        controller.close();
      },
    });
    const reader = readNdjson(stream);
    expect((await reader.next()).value).toEqual({ n: 1 });
    release();
    expect((await reader.next()).value).toEqual({ n: 2 });
    expect((await reader.next()).done).toBe(true);
  });

  it('throws BAD_RESPONSE on a line that is not JSON', async () => {
    const { stream } = streamOf(['{"a":1}\nnot json\n']);
    const err = await collect(readNdjson(stream)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('BAD_RESPONSE');
  });

  it('cancels the stream when the consumer stops early', async () => {
    const { stream, cancelled } = streamOf(['{"a":1}\n', '{"b":2}\n', '{"c":3}\n']);
    for await (const value of readNdjson(stream)) {
      expect(value).toEqual({ a: 1 });
      break;
    }
    expect(cancelled()).toBe(true);
  });
});

describe('readChatEvents', () => {
  it('parses every event kind the agent sends', async () => {
    const events = [
      { type: 'start', conversationId: 'c-1' },
      { type: 'tool_call', name: 'get_finding', args: { id: 'f-1' } },
      { type: 'tool_result', name: 'get_finding', ok: true },
      { type: 'text', delta: 'This matters because…' },
      { type: 'refs', refs: [{ kind: 'finding', id: 'f-1' }] },
      { type: 'error', message: 'model unavailable' },
      { type: 'done' },
    ];
    const { stream } = streamOf([events.map((e) => JSON.stringify(e)).join('\n')]);
    expect(await collect(readChatEvents(stream))).toEqual(events);
  });

  it('throws BAD_RESPONSE on an event outside the ChatEvent contract', async () => {
    const { stream } = streamOf(['{"type":"text","delta":"ok"}\n{"type":"telepathy"}\n']);
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const e of readChatEvents(stream)) seen.push(e);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([{ type: 'text', delta: 'ok' }]);
    expect((err as ApiError).code).toBe('BAD_RESPONSE');
  });
});
