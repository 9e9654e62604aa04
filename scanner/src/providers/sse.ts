import { ScannerError } from '../errors.ts';

/** One server-sent event: the `event:` name (default "message") and its joined `data:` lines. */
export interface SseEvent {
  event: string;
  data: string;
}

/** The most text one event (its unfinished line and its data lines) may hold before the decoder gives up on the stream. */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * Incremental SSE decoder (WHATWG EventSource parsing rules): feed text in
 * arbitrary pieces — a line, an event or a JSON object may be split anywhere —
 * and receive whole events. Linear in the text fed, however it is split: each
 * piece is searched once and an unfinished line is kept as its pieces, never
 * re-joined or re-scanned per push (a line of 16 MB in 16 KB pieces took 12 s
 * when it was). What one event may hold is bounded (`maxEventChars`): past it,
 * `push` throws a ScannerError `SSE_EVENT_TOO_LARGE`, and so does every later
 * call, as an upstream that never ends its line must not grow the proxy's memory.
 */
export class SseDecoder {
  /** the unfinished line, as the pieces it arrived in, and their length */
  private pending: string[] = [];
  private pendingChars = 0;
  /** the last piece ended with '\r': a '\n' starting the next one is the same line end */
  private afterCr = false;
  private event = '';
  private data: string[] = [];
  private dataChars = 0;
  private failed: ScannerError | null = null;

  constructor(private readonly onEvent: (e: SseEvent) => void, private readonly maxEventChars = MAX_SSE_EVENT_CHARS) {}

  push(text: string): void {
    if (this.failed) throw this.failed;
    let at = 0;
    if (this.afterCr) {
      this.afterCr = false;
      if (text.charCodeAt(0) === 10) at = 1;
    }
    let lf = text.indexOf('\n', at);
    let cr = text.indexOf('\r', at);
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      const piece = text.slice(at, end);
      const line = this.pending.length === 0 ? piece : this.pending.join('') + piece;
      this.pending = [];
      this.pendingChars = 0;
      this.line(line);
      at = end + 1;
      if (end === cr) {
        if (at === text.length) this.afterCr = true;
        else if (text.charCodeAt(at) === 10) at += 1;
      }
      if (lf !== -1 && lf < at) lf = text.indexOf('\n', at);
      if (cr !== -1 && cr < at) cr = text.indexOf('\r', at);
    }
    if (at < text.length) {
      this.pending.push(at === 0 ? text : text.slice(at));
      this.pendingChars += text.length - at;
      this.bound();
    }
  }

  /** dispatches an event left unterminated at end of stream */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.pending.length > 0) this.line(this.pending.join(''));
    this.pending = [];
    this.pendingChars = 0;
    this.line('');
  }

  private bound(): void {
    if (this.pendingChars + this.dataChars <= this.maxEventChars) return;
    this.pending = [];
    this.data = [];
    this.failed = new ScannerError('SSE_EVENT_TOO_LARGE', `a server-sent event over ${this.maxEventChars} characters`);
    throw this.failed;
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      this.dataChars = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length;
      this.bound();
    } else if (field === 'event') this.event = value;
  }
}
