import type { HiggsEvent } from './layout.ts';
import type { NativeBinding, RingbufHandle } from './native.ts';

/**
 * A BPF ring buffer as an async iterator of decoded records. Records arrive on
 * the event loop as soon as the kernel signals them (epoll on the ring
 * buffer). A consumer that falls more than `maxQueued` events behind loses
 * the oldest ones, counted in `dropped` (the kernel side counts its own
 * failed reservations in the `ringbuf_full` counter).
 */
export class EventStream<T = HiggsEvent> implements AsyncIterableIterator<T> {
  /** Events discarded in user space because the consumer fell behind. */
  dropped = 0;
  private readonly queue: T[] = [];
  private readonly waiters: ((r: IteratorResult<T>) => void)[] = [];
  private handle: RingbufHandle | null;

  constructor(
    private readonly native: NativeBinding,
    mapFd: number,
    decode: (record: Buffer) => T,
    private readonly maxQueued = 65_536,
  ) {
    this.handle = native.ringbufOpen(mapFd, (records) => {
      for (const record of records) this.push(decode(record));
    });
  }

  private push(event: T): void {
    const waiter = this.waiters.shift();
    if (waiter) return waiter({ value: event, done: false });
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(event);
  }

  next(): Promise<IteratorResult<T>> {
    const event = this.queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (!this.handle) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops polling; pending next() calls resolve as done. */
  close(): void {
    if (!this.handle) return;
    this.native.ringbufClose(this.handle);
    this.handle = null;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
}
