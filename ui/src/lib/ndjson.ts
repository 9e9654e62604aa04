import { ChatEvent } from '@higgs/schema';
import { ApiError } from './errors.ts';

/**
 * Reads a newline-delimited JSON stream value by value as bytes arrive.
 * Lines may be split across chunks (and UTF-8 sequences across chunk
 * boundaries); blank lines and CRLF endings are tolerated; a final line without
 * a trailing newline is still read. A line that is not JSON throws
 * `ApiError('BAD_RESPONSE')`. Stopping early cancels the stream.
 */
export async function* readNdjson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        buffered += decoder.decode();
        break;
      }
      buffered += decoder.decode(value, { stream: true });
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const parsed = parseLine(line);
        if (parsed !== SKIP) yield parsed;
        newline = buffered.indexOf('\n');
      }
    }
    const last = parseLine(buffered);
    if (last !== SKIP) yield last;
  } finally {
    // an early return (or a throw) leaves the stream open; cancel it so the server stops sending
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

const SKIP = Symbol('skip');

function parseLine(raw: string): unknown {
  const line = raw.trim();
  if (line === '') return SKIP;
  try {
    return JSON.parse(line) as unknown;
  } catch (cause) {
    throw new ApiError('BAD_RESPONSE', 'the agent stream sent a line that is not JSON', null, { cause });
  }
}

/**
 * The agent's answer stream (`POST /api/agent/chat`) as typed `ChatEvent`s.
 * An event that does not match the contract throws `ApiError('BAD_RESPONSE')`:
 * the contract is shared, so a mismatch is a version skew worth seeing.
 */
export async function* readChatEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatEvent> {
  for await (const value of readNdjson(body)) {
    const event = ChatEvent.safeParse(value);
    if (!event.success) {
      throw new ApiError('BAD_RESPONSE', 'the agent stream sent an event that does not match its contract', null, { cause: event.error });
    }
    yield event.data;
  }
}
