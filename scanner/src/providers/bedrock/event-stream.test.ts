import { EventStreamCodec } from '@smithy/core/event-streams';
import { describe, expect, it } from 'vitest';
import { ScannerError } from '../../errors.ts';
import { encodeEventStreamMessage, EventStreamDecoder, type EventStreamMessage } from './event-stream.ts';

// The shape of Bedrock's InvokeModelWithResponseStream frames (Anthropic on Bedrock): a `chunk` event whose
// JSON payload carries the model's own stream event base64-encoded in `bytes`, padded with `p`.
const chunkPayload = JSON.stringify({
  bytes: Buffer.from(JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } })).toString('base64'),
  p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ',
});
const chunkHeaders = { ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' };

function decodeAll(bytes: Uint8Array, split: number[] = []): EventStreamMessage[] {
  const out: EventStreamMessage[] = [];
  const d = new EventStreamDecoder((m) => out.push(m));
  let at = 0;
  for (const s of [...split, bytes.length]) {
    d.push(bytes.subarray(at, s));
    at = s;
  }
  d.end();
  return out;
}

describe('AWS event-stream codec', () => {
  it('round-trips headers and payload, with the prelude laid out as AWS specifies', () => {
    const frame = encodeEventStreamMessage(chunkHeaders, Buffer.from(chunkPayload));
    expect(frame.readUInt32BE(0)).toBe(frame.length);
    // 3 headers: 1+len(name)+1+2+len(value) each
    expect(frame.readUInt32BE(4)).toBe([...Object.entries(chunkHeaders)].reduce((n, [k, v]) => n + 4 + k.length + v.length, 0));
    const [m] = decodeAll(frame);
    expect(m!.headers).toEqual(chunkHeaders);
    expect(Buffer.from(m!.payload).toString('utf8')).toBe(chunkPayload);
  });

  it('agrees with the AWS SDK\'s own codec (@smithy/core) in both directions', () => {
    const smithy = new EventStreamCodec((b) => Buffer.from(b).toString('utf8'), (s) => Buffer.from(s, 'utf8'));
    const ours = encodeEventStreamMessage(chunkHeaders, Buffer.from(chunkPayload));
    const theirs = smithy.encode({
      headers: Object.fromEntries(Object.entries(chunkHeaders).map(([k, v]) => [k, { type: 'string' as const, value: v }])),
      body: Buffer.from(chunkPayload),
    });
    expect(Buffer.from(theirs).equals(ours)).toBe(true);
    const decoded = smithy.decode(ours);
    expect(Buffer.from(decoded.body).toString('utf8')).toBe(chunkPayload);
    // typed headers the SDK can send (int32, bool, timestamp, uuid) decode to values, and are skipped over correctly
    const typed = smithy.encode({
      headers: {
        count: { type: 'integer', value: 0xa00c },
        flag: { type: 'boolean', value: true },
        at: { type: 'timestamp', value: new Date(1_700_000_000_000) },
        id: { type: 'uuid', value: '0d2c8a8e-3b6a-4c8f-9f1a-2b3c4d5e6f70' },
        ':event-type': { type: 'string', value: 'chunk' },
      },
      body: Buffer.from('{}'),
    });
    const [m] = decodeAll(typed);
    expect(m!.headers).toEqual({ count: 0xa00c, flag: true, at: new Date(1_700_000_000_000), id: '0d2c8a8e3b6a4c8f9f1a2b3c4d5e6f70', ':event-type': 'chunk' });
  });

  it('reassembles messages split at every byte boundary, several per read', () => {
    const frames = Buffer.concat([
      encodeEventStreamMessage(chunkHeaders, Buffer.from(chunkPayload)),
      encodeEventStreamMessage({ ':event-type': 'messageStop', ':message-type': 'event' }, Buffer.from('{"stopReason":"end_turn"}')),
      encodeEventStreamMessage({}, Buffer.alloc(0)),
    ]);
    for (let cut = 1; cut < frames.length; cut++) {
      const got = decodeAll(frames, [cut]);
      expect(got.map((m) => m.headers[':event-type'] ?? null)).toEqual(['chunk', 'messageStop', null]);
    }
    const byteByByte = decodeAll(frames, Array.from({ length: frames.length - 1 }, (_, i) => i + 1));
    expect(byteByByte).toHaveLength(3);
  });

  it('rejects a flipped payload bit (message CRC) and a flipped length bit (prelude CRC)', () => {
    const frame = encodeEventStreamMessage(chunkHeaders, Buffer.from(chunkPayload));
    const payloadFlip = Buffer.from(frame);
    payloadFlip[frame.length - 10]! ^= 0x01;
    expect(() => decodeAll(payloadFlip)).toThrow(expect.objectContaining({ code: 'EVENT_STREAM_INVALID', message: 'message CRC mismatch' }));
    const lengthFlip = Buffer.from(frame);
    lengthFlip[3]! ^= 0x01;
    expect(() => decodeAll(lengthFlip)).toThrow(expect.objectContaining({ code: 'EVENT_STREAM_INVALID', message: 'prelude CRC mismatch' }));
  });

  it('fails a stream that ends inside a message, and stays failed after a corrupt frame', () => {
    const frame = encodeEventStreamMessage(chunkHeaders, Buffer.from(chunkPayload));
    expect(() => decodeAll(frame.subarray(0, frame.length - 1))).toThrow(ScannerError);
    const bad = Buffer.from(frame);
    bad[20]! ^= 0xff;
    const d = new EventStreamDecoder(() => undefined);
    expect(() => d.push(bad)).toThrow(ScannerError);
    expect(() => d.push(frame)).toThrow(ScannerError);
  });
});
