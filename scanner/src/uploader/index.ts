import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IngestEvent } from '@higgs/schema';
import type { Logger } from '../logger.ts';
import type { ScannerStats } from '../stats.ts';
import { fitEvent, fitsIn, MAX_EVENT_BYTES } from './fit.ts';

export interface UploaderOptions {
  tenantUrl: string;
  token: string;
  scannerId: string;
  /** NDJSON spool files; rejected events go to `<spoolDir>/dead-letter/` */
  spoolDir: string;
  batchSize: number;
  intervalMs: number;
  spoolMaxBytes: number;
  logger: Logger;
  stats: ScannerStats;
  /** per-request timeout of POST /v1/ingest */
  requestTimeoutMs?: number;
  /** the most one event's JSON may take (default MAX_EVENT_BYTES, under the tenant's body limit); a larger call is cut to fit (fit.ts) */
  maxEventBytes?: number;
}

type PostResult = { kind: 'ok' } | { kind: 'retry' } | { kind: 'rejected'; status: number };
/**
 * An event's JSON, serialised once when it is enqueued: the same text goes
 * into a POST body (joined, never re-serialised) and, while the tenant is
 * down, a spool line. Serialising a whole 500-event batch at flush time held
 * the proxy's event loop for milliseconds twice a second at 1 000 calls/s;
 * one event at a time costs the same in total and never blocks for long.
 */
type EventJson = string;

const MAX_BACKOFF_MS = 30_000;
/** Statuses that say "this batch will never be accepted as it is": too large, or invalid. */
const REJECTED = new Set([400, 413, 422]);
export const DEAD_LETTER_DIR = 'dead-letter';

/**
 * Ships events to `POST /v1/ingest` in batches, losing nothing the tenant would accept:
 *
 * - While the tenant is slow or down, batches go to NDJSON files in the spool
 *   directory (bounded by `spoolMaxBytes`; what does not fit is counted as
 *   dropped and logged) and are replayed oldest first — also by the next
 *   process after a restart — before anything newer.
 * - Event ids make redelivery harmless: the tenant de-duplicates, so a batch
 *   re-sent after a timeout or a crash mid-replay is stored once.
 * - A batch the tenant refuses as too large (413) or invalid (400/422) is split
 *   in halves and retried, down to the single event; an event refused on its
 *   own is written to `<spoolDir>/dead-letter/`, counted and logged.
 * - Durability: a spool file is written to a temporary name, fsynced, then
 *   renamed into place (and the directory fsynced), so a crash never leaves a
 *   half-written file in the replay set; a torn line is skipped on replay.
 *   Events still in memory (at most `batchSize`, or `intervalMs` worth) are
 *   lost only if the process dies without `close()`; `close()` flushes them
 *   to the tenant or the spool.
 */
export class Uploader {
  private pending: EventJson[] = [];
  private running: Promise<void> = Promise.resolve();
  private spooling: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private fileSeq = 0;

  /** `{"scannerId":…,"events":[`: the fixed head of every POST body */
  private readonly bodyHead: string;

  private constructor(private readonly opts: UploaderOptions, private spoolBytes: number) {
    this.bodyHead = `{"scannerId":${JSON.stringify(opts.scannerId)},"events":[`;
  }

  static async open(opts: UploaderOptions): Promise<Uploader> {
    await mkdir(opts.spoolDir, { recursive: true, mode: 0o700 });
    // a temporary file is what a crash interrupted: keep its complete lines (the torn last one is skipped on replay)
    for (const f of await readdir(opts.spoolDir)) {
      if (f.endsWith('.ndjson.tmp')) await rename(join(opts.spoolDir, f), join(opts.spoolDir, f.slice(0, -'.tmp'.length)));
    }
    let bytes = 0;
    for (const f of await spoolFiles(opts.spoolDir)) bytes += (await stat(join(opts.spoolDir, f))).size;
    const u = new Uploader(opts, bytes);
    u.schedule(opts.intervalMs);
    return u;
  }

  enqueue(event: IngestEvent): void {
    let json: EventJson;
    try {
      json = JSON.stringify(event);
    } catch (err) {
      // a value JSON cannot carry (a cycle, a BigInt): a bug upstream, counted and logged, never silent
      this.opts.stats.dropped += 1;
      this.opts.logger.error({ err, kind: event.kind }, 'event not serialisable; dropped');
      return;
    }
    const max = this.opts.maxEventBytes ?? MAX_EVENT_BYTES;
    if (!fitsIn(json, max)) {
      // refused even alone, it would be dead-lettered and the call never seen by the tenant: its recorded text is cut instead
      const fitted = fitEvent(event, max, json);
      if (fitted) {
        json = fitted.json;
        this.opts.stats.truncated += 1;
        this.opts.logger.warn({ id: event.event.id, kind: event.kind, cutChars: fitted.cutChars, cutMessages: fitted.cutMessages, maxBytes: max },
          'event over the upload bound: recorded text cut to fit, each cut marked in the text');
      }
    }
    this.pending.push(json);
    if (this.pending.length < this.opts.batchSize) return;
    // while the tenant is failing, full batches go straight to disk instead of piling up in memory
    if (this.failures === 0) void this.flush();
    else void this.spool(this.pending.splice(0));
  }

  /** Uploads (or spools) everything buffered now; resolves when done. Never rejects. */
  flush(): Promise<void> {
    this.running = this.running.then(() => this.flushOnce()).catch((err: unknown) => {
      this.opts.logger.error({ err }, 'uploader flush failed');
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
    await this.spooling;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.flush().then(() => {
        const backoff = this.failures === 0 ? this.opts.intervalMs : Math.min(MAX_BACKOFF_MS, this.opts.intervalMs * 2 ** this.failures);
        this.schedule(backoff);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async flushOnce(): Promise<void> {
    const { spoolDir, batchSize } = this.opts;
    await this.spooling;
    for (const file of await spoolFiles(spoolDir)) {
      const path = join(spoolDir, file);
      const events = parseSpool(await readFile(path, 'utf8'), this.opts.logger, this.opts.stats, path);
      for (let i = 0; i < events.length; i += batchSize) {
        // the file stays until all of it is delivered; a partly delivered file is re-sent whole, and the tenant de-duplicates
        if ((await this.deliver(events.slice(i, i + batchSize))) === 'retry') {
          await this.spool(this.pending.splice(0));
          return;
        }
      }
      const size = (await stat(path)).size;
      await unlink(path);
      this.spoolBytes -= size;
    }
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, batchSize);
      if ((await this.deliver(batch)) === 'retry') {
        await this.spool([...batch, ...this.pending.splice(0)]);
        return;
      }
    }
  }

  /** Delivers the batch, splitting what the tenant refuses; 'retry' when the tenant is unavailable. */
  private async deliver(events: EventJson[]): Promise<'ok' | 'retry'> {
    const res = await this.post(events);
    if (res.kind !== 'rejected') return res.kind;
    if (events.length === 1) {
      await this.deadLetter(events, res.status);
      return 'ok';
    }
    const half = Math.ceil(events.length / 2);
    if ((await this.deliver(events.slice(0, half))) === 'retry') return 'retry';
    return this.deliver(events.slice(half));
  }

  private async post(events: EventJson[]): Promise<PostResult> {
    const { tenantUrl, token, logger, stats } = this.opts;
    let status: number;
    try {
      const res = await fetch(new URL('/v1/ingest', tenantUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: `${this.bodyHead}${events.join(',')}]}`,
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      stats.uploadErrors += 1;
      this.failures += 1;
      if (this.failures === 1) logger.warn({ err, tenantUrl }, 'tenant unreachable; spooling events');
      return { kind: 'retry' };
    }
    if (status >= 200 && status < 300) {
      if (this.failures > 0) logger.info({ tenantUrl }, 'tenant reachable again; replaying spool');
      this.failures = 0;
      stats.uploaded += events.length;
      return { kind: 'ok' };
    }
    stats.uploadErrors += 1;
    // retrying a refused batch as it is would stall everything behind it: deliver() splits it
    if (REJECTED.has(status)) return { kind: 'rejected', status };
    this.failures += 1;
    if (this.failures === 1) logger.warn({ status, tenantUrl }, 'tenant refused ingest; spooling events');
    return { kind: 'retry' };
  }

  /** Keeps an event the tenant refused on its own, for an operator to inspect; never replayed. */
  private async deadLetter(events: EventJson[], status: number): Promise<void> {
    const { spoolDir, logger, stats } = this.opts;
    const dir = join(spoolDir, DEAD_LETTER_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const at = new Date().toISOString();
    await writeDurably(dir, this.fileName(), events.map((event) => `{"at":"${at}","status":${status},"event":${event}}\n`).join(''));
    stats.deadLettered += events.length;
    logger.error({ status, ids: events.map((e) => (JSON.parse(e) as IngestEvent).event.id), dir }, 'tenant rejected events; kept in the dead-letter directory');
  }

  /** Appends events to the spool as one new file; serialized, so the byte bound holds. */
  private spool(events: EventJson[]): Promise<void> {
    if (events.length === 0) return this.spooling;
    this.spooling = this.spooling.then(() => this.spoolOnce(events)).catch((err: unknown) => {
      this.opts.stats.dropped += events.length;
      this.opts.logger.error({ err, dropped: events.length }, 'spool write failed; events dropped');
    });
    return this.spooling;
  }

  private async spoolOnce(events: EventJson[]): Promise<void> {
    const { spoolDir, spoolMaxBytes, logger, stats } = this.opts;
    let text = '';
    let bytes = 0;
    let kept = 0;
    for (const e of events) {
      const line = `${e}\n`;
      const size = Buffer.byteLength(line);
      if (this.spoolBytes + bytes + size > spoolMaxBytes) break;
      text += line;
      bytes += size;
      kept += 1;
    }
    if (kept > 0) {
      await writeDurably(spoolDir, this.fileName(), text);
      this.spoolBytes += bytes;
      stats.spooled += kept;
    }
    if (kept < events.length) {
      stats.dropped += events.length - kept;
      logger.warn({ dropped: events.length - kept, spoolBytes: this.spoolBytes, spoolMaxBytes }, 'spool full; events dropped');
    }
  }

  /** Time-ordered names: replay order is the lexical order, across restarts too. */
  private fileName(): string {
    return `${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(7, '0')}-${String(this.fileSeq++).padStart(6, '0')}-${randomBytes(3).toString('hex')}.ndjson`;
  }
}

/** Writes `name` whole or not at all: temporary file, fsync, rename, fsync of the directory. */
async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

async function spoolFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).sort();
}

/** The spool's lines, each validated (the file is input like any other) and re-serialised as the schema reads it. */
function parseSpool(text: string, logger: Logger, stats: ScannerStats, path: string): EventJson[] {
  const events: EventJson[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      events.push(JSON.stringify(IngestEvent.parse(JSON.parse(line))));
    } catch {
      bad += 1; // a torn last line after a crash
    }
  }
  if (bad > 0) {
    stats.dropped += bad;
    logger.warn({ path, bad }, 'unreadable spool lines skipped');
  }
  return events;
}
