/** One server-sent event: the `event:` name (default "message") and its joined `data:` lines. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Incremental SSE decoder (WHATWG EventSource parsing rules): feed text in
 * arbitrary pieces — a line, an event or a JSON object may be split anywhere —
 * and receive whole events.
 */
export class SseDecoder {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  push(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.nextLineEnd()) !== -1) {
      let line = this.buffer.slice(0, nl);
      const skip = this.buffer[nl] === '\r' && this.buffer[nl + 1] === '\n' ? 2 : 1;
      this.buffer = this.buffer.slice(nl + skip);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line);
    }
  }

  /** dispatches an event left unterminated at end of stream */
  end(): void {
    if (this.buffer !== '') this.line(this.buffer);
    this.buffer = '';
    this.line('');
  }

  private nextLineEnd(): number {
    const n = this.buffer.indexOf('\n');
    const r = this.buffer.indexOf('\r');
    // a lone '\r' at the end of the buffer may be the first half of '\r\n'
    if (r !== -1 && r === this.buffer.length - 1 && (n === -1 || n > r)) return n === -1 ? -1 : n;
    if (r === -1) return n;
    if (n === -1) return r;
    return Math.min(n, r);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
