import { appendFile, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IngestEvent } from '@higgs/schema';
import type { Logger } from '../logger.ts';
import type { ScannerStats } from '../stats.ts';

export interface UploaderOptions {
  tenantUrl: string;
  token: string;
  scannerId: string;
  spoolDir: string;
  batchSize: number;
  intervalMs: number;
  spoolMaxBytes: number;
  logger: Logger;
  stats: ScannerStats;
  /** per-request timeout of POST /v1/ingest */
  requestTimeoutMs?: number;
}

type PostResult = 'ok' | 'retry' | 'rejected';

const MAX_BACKOFF_MS = 30_000;

/**
 * Ships events to `POST /v1/ingest` in batches. While the tenant is slow or
 * down, batches go to NDJSON files in the spool directory (bounded by
 * `spoolMaxBytes`; what does not fit is counted as dropped and logged), and
 * are replayed oldest first — also by the next process after a restart —
 * before anything newer. Event ids make redelivery harmless: the tenant
 * de-duplicates.
 */
export class Uploader {
  private pending: IngestEvent[] = [];
  private running: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private fileSeq = 0;

  private constructor(private readonly opts: UploaderOptions, private spoolBytes: number) {}

  static async open(opts: UploaderOptions): Promise<Uploader> {
    await mkdir(opts.spoolDir, { recursive: true });
    let bytes = 0;
    for (const f of await spoolFiles(opts.spoolDir)) bytes += (await stat(join(opts.spoolDir, f))).size;
    const u = new Uploader(opts, bytes);
    u.schedule(opts.intervalMs);
    return u;
  }

  enqueue(event: IngestEvent): void {
    this.pending.push(event);
    if (this.pending.length >= this.opts.batchSize && this.failures === 0) void this.flush();
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
    for (const file of await spoolFiles(spoolDir)) {
      const path = join(spoolDir, file);
      const events = parseSpool(await readFile(path, 'utf8'), this.opts.logger, this.opts.stats, path);
      for (let i = 0; i < events.length; i += batchSize) {
        if ((await this.post(events.slice(i, i + batchSize))) === 'retry') {
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
      if ((await this.post(batch)) === 'retry') {
        await this.spool([...batch, ...this.pending.splice(0)]);
        return;
      }
    }
  }

  private async post(events: IngestEvent[]): Promise<PostResult> {
    const { tenantUrl, token, scannerId, logger, stats } = this.opts;
    let status: number;
    try {
      const res = await fetch(new URL('/v1/ingest', tenantUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ scannerId, events }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      stats.uploadErrors += 1;
      this.failures += 1;
      if (this.failures === 1) logger.warn({ err, tenantUrl }, 'tenant unreachable; spooling events');
      return 'retry';
    }
    if (status >= 200 && status < 300) {
      if (this.failures > 0) logger.info({ tenantUrl }, 'tenant reachable again; replaying spool');
      this.failures = 0;
      stats.uploaded += events.length;
      return 'ok';
    }
    stats.uploadErrors += 1;
    // a batch the tenant finds invalid will never be accepted; retrying it would stall everything behind it
    if (status === 400 || status === 413 || status === 422) {
      stats.dropped += events.length;
      logger.error({ status, events: events.length }, 'tenant rejected an ingest batch as invalid; events dropped');
      return 'rejected';
    }
    this.failures += 1;
    if (this.failures === 1) logger.warn({ status, tenantUrl }, 'tenant refused ingest; spooling events');
    return 'retry';
  }

  private async spool(events: IngestEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { spoolDir, spoolMaxBytes, logger, stats } = this.opts;
    let text = '';
    let kept = 0;
    for (const e of events) {
      const line = `${JSON.stringify(e)}\n`;
      if (this.spoolBytes + Buffer.byteLength(text) + Buffer.byteLength(line) > spoolMaxBytes) break;
      text += line;
      kept += 1;
    }
    if (kept > 0) {
      // time-ordered names: replay order is the lexical order, across restarts too
      const name = `${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(7, '0')}-${String(this.fileSeq++).padStart(6, '0')}.ndjson`;
      await appendFile(join(spoolDir, name), text, { mode: 0o600 });
      this.spoolBytes += Buffer.byteLength(text);
      stats.spooled += kept;
    }
    if (kept < events.length) {
      stats.dropped += events.length - kept;
      logger.warn({ dropped: events.length - kept, spoolBytes: this.spoolBytes, spoolMaxBytes }, 'spool full; events dropped');
    }
  }
}

async function spoolFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).sort();
}

function parseSpool(text: string, logger: Logger, stats: ScannerStats, path: string): IngestEvent[] {
  const events: IngestEvent[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      events.push(IngestEvent.parse(JSON.parse(line)));
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
