import { crc32 } from 'node:zlib';
import { ScannerError } from '../../errors.ts';

/**
 * The AWS event-stream binary framing (application/vnd.amazon.eventstream),
 * used by Bedrock's InvokeModelWithResponseStream and ConverseStream:
 *
 *   total length u32 | headers length u32 | prelude CRC32 u32 | headers | payload | message CRC32 u32
 *
 * all big-endian, CRC32 (IEEE) of the prelude's first 8 bytes and of every
 * byte before the message CRC. A header is name length u8, name, value type
 * u8, value. https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html
 */

/** A decoded header value: strings, numbers, booleans, bytes, timestamps (ms as Date) and UUIDs (hex). */
export type EventStreamHeaderValue = string | number | bigint | boolean | Uint8Array | Date;

export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>;
  payload: Uint8Array;
  /** the whole message as it was on the wire (prelude to CRC), for relaying it unchanged */
  frame: Buffer;
}

const PRELUDE_BYTES = 12;
const CRC_BYTES = 4;
// Bedrock frames are a few KB; the SDK's own decoder refuses messages over 16 MiB.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const HeaderType = { True: 0, False: 1, Byte: 2, Short: 3, Integer: 4, Long: 5, Bytes: 6, String: 7, Timestamp: 8, Uuid: 9 } as const;

/**
 * Encodes one message with string headers, as Bedrock sends them
 * (`:event-type`, `:content-type`, `:message-type`).
 *
 * @example encodeEventStreamMessage({ ':event-type': 'chunk', ':message-type': 'event' }, Buffer.from('{"bytes":"…"}'))
 */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Buffer {
  const headerParts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    if (n.length > 255 || v.length > 0xffff) throw new ScannerError('EVENT_STREAM_INVALID', `header ${name} is too long to encode`);
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(HeaderType.String, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    headerParts.push(h);
  }
  const headerBytes = Buffer.concat(headerParts);
  const total = PRELUDE_BYTES + headerBytes.length + payload.length + CRC_BYTES;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headerBytes.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headerBytes.copy(out, PRELUDE_BYTES);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(out, PRELUDE_BYTES + headerBytes.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - CRC_BYTES)), total - CRC_BYTES);
  return out;
}

/**
 * Incremental decoder: push bytes as they arrive, split anywhere (a TCP read
 * may end inside a prelude, a header or a CRC), and receive whole messages.
 * Both CRCs are verified; a corrupt or oversized frame throws
 * `ScannerError('EVENT_STREAM_INVALID')` and the decoder stays failed.
 */
export class EventStreamDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: ScannerError | null = null;

  constructor(private readonly onMessage: (m: EventStreamMessage) => void) {}

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
    try {
      this.drain();
    } catch (err) {
      this.failed = err instanceof ScannerError ? err : new ScannerError('EVENT_STREAM_INVALID', 'malformed event-stream message', { cause: err });
      throw this.failed;
    }
  }

  /** throws when the stream ended inside a message */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.buffered > 0) throw new ScannerError('EVENT_STREAM_INVALID', `stream ended inside a message (${this.buffered} bytes left)`);
  }

  private drain(): void {
    while (this.buffered >= PRELUDE_BYTES) {
      const head = this.peek(PRELUDE_BYTES);
      const total = head.readUInt32BE(0);
      const headersLength = head.readUInt32BE(4);
      if (crc32(head.subarray(0, 8)) !== head.readUInt32BE(8)) throw new ScannerError('EVENT_STREAM_INVALID', 'prelude CRC mismatch');
      if (total < PRELUDE_BYTES + CRC_BYTES + headersLength || total > MAX_MESSAGE_BYTES) {
        throw new ScannerError('EVENT_STREAM_INVALID', `message length ${total} (headers ${headersLength}) is out of bounds`);
      }
      if (this.buffered < total) return;
      const frame = this.take(total);
      if (crc32(frame.subarray(0, total - CRC_BYTES)) !== frame.readUInt32BE(total - CRC_BYTES)) {
        throw new ScannerError('EVENT_STREAM_INVALID', 'message CRC mismatch');
      }
      const headers = decodeHeaders(frame.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headersLength));
      this.onMessage({ headers, payload: frame.subarray(PRELUDE_BYTES + headersLength, total - CRC_BYTES), frame });
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    // copy: the frame must not pin the (possibly large) concatenated buffer
    return Buffer.from(all.subarray(0, n));
  }
}

function decodeHeaders(b: Buffer): Record<string, EventStreamHeaderValue> {
  const headers: Record<string, EventStreamHeaderValue> = {};
  let i = 0;
  const need = (n: number): void => {
    if (i + n > b.length) throw new ScannerError('EVENT_STREAM_INVALID', 'header runs past the header block');
  };
  while (i < b.length) {
    need(1);
    const nameLength = b.readUInt8(i);
    i += 1;
    need(nameLength + 1);
    const name = b.toString('utf8', i, i + nameLength);
    i += nameLength;
    const type = b.readUInt8(i);
    i += 1;
    switch (type) {
      case HeaderType.True: headers[name] = true; break;
      case HeaderType.False: headers[name] = false; break;
      case HeaderType.Byte: need(1); headers[name] = b.readInt8(i); i += 1; break;
      case HeaderType.Short: need(2); headers[name] = b.readInt16BE(i); i += 2; break;
      case HeaderType.Integer: need(4); headers[name] = b.readInt32BE(i); i += 4; break;
      case HeaderType.Long: need(8); headers[name] = b.readBigInt64BE(i); i += 8; break;
      case HeaderType.Timestamp: need(8); headers[name] = new Date(Number(b.readBigInt64BE(i))); i += 8; break;
      case HeaderType.Uuid: need(16); headers[name] = b.toString('hex', i, i + 16); i += 16; break;
      case HeaderType.Bytes:
      case HeaderType.String: {
        need(2);
        const len = b.readUInt16BE(i);
        i += 2;
        need(len);
        headers[name] = type === HeaderType.String ? b.toString('utf8', i, i + len) : Uint8Array.prototype.slice.call(b, i, i + len);
        i += len;
        break;
      }
      default:
        throw new ScannerError('EVENT_STREAM_INVALID', `unknown header value type ${String(type)} for ${name}`);
    }
  }
  return headers;
}
