/**
 * Telemetry ClickHouse did not take after the state it belongs to committed.
 *
 * Ingest commits a batch's state (assets, sessions, findings) in the state
 * store, then inserts its events into ClickHouse. When that insert fails, the
 * effects are already stored: answering the batch with an error would make the
 * scanner re-send it, and the re-sent events — still absent from ClickHouse —
 * would pass the dedup and count their effects a second time. So the events
 * are held here instead (a file per failed insert, written and synced before
 * the batch is answered), the dedup treats held ids as stored, and a retry loop
 * inserts them once ClickHouse takes them again.
 *
 * A failed insert may still have reached the server (a timeout after the body
 * was sent), so delivery first asks which of the held ids are stored and
 * inserts only the others: each event lands once.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clickhouse } from './query.ts';

/** One table's rows of one failed insert, with the id and time of each (for the dedup query). */
export interface OutboxEntry {
  tenantId: string;
  table: string;
  events: Array<{ id: string; ts: string }>;
  rows: Array<Record<string, unknown>>;
}

export interface OutboxLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
}

export interface TelemetryOutbox {
  /** ids held for a tenant's table: stored, as far as the dedup is concerned */
  isHeld(tenantId: string, table: string, id: string): boolean;
  /** Holds the entries (on disk when the outbox has a directory) and schedules their delivery. */
  hold(entries: readonly OutboxEntry[], cause: unknown): Promise<void>;
  /** One delivery attempt of everything held; true when nothing is left. */
  deliver(): Promise<boolean>;
  /** events held now */
  readonly size: number;
  close(): void;
}

type StoredIds = (p: { tenantId: string; table: string; events: readonly { id: string; ts: string }[] }) => Promise<Set<string>>;

interface Held { file: string | null; entries: readonly OutboxEntry[] }

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

/**
 * Opens the outbox in `dir` (created when missing; `null`: in memory only, for
 * an embedded tenant whose state is in memory too) and schedules delivery of
 * whatever an earlier process left there.
 */
export async function openTelemetryOutbox(p: {
  ch: Clickhouse; dir: string | null; storedIds: StoredIds; log: OutboxLog; firstRetryMs?: number;
}): Promise<TelemetryOutbox> {
  const held: Held[] = [];
  const ids = new Map<string, Set<string>>();
  const keyOf = (tenantId: string, table: string) => `${tenantId}\u0000${table}`;
  const track = (entries: readonly OutboxEntry[], add: boolean) => {
    for (const e of entries) {
      const key = keyOf(e.tenantId, e.table);
      let set = ids.get(key);
      if (!set) ids.set(key, (set = new Set()));
      for (const ev of e.events) {
        if (add) set.add(ev.id);
        else set.delete(ev.id);
      }
      if (set.size === 0) ids.delete(key);
    }
  };
  const firstRetryMs = p.firstRetryMs ?? FIRST_RETRY_MS;
  let retryMs = firstRetryMs;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let running: Promise<boolean> = Promise.resolve(true);

  if (p.dir) {
    await mkdir(p.dir, { recursive: true });
    const names = await readdir(p.dir);
    // a write cut short by a crash: its batch was never answered, so the scanner still holds it and sends it again
    for (const name of names.filter((f) => f.endsWith('.json.partial'))) await unlink(join(p.dir, name));
    for (const name of names.filter((f) => f.endsWith('.json')).sort()) {
      const file = join(p.dir, name);
      let entries: OutboxEntry[];
      try {
        entries = JSON.parse(await readFile(file, 'utf8')) as OutboxEntry[];
      } catch (err) {
        // kept for a person to look at, never deleted; the tenant still starts
        await rename(file, `${file}.unreadable`);
        p.log.warn({ err, file: `${file}.unreadable` }, 'held telemetry file unreadable; set aside, not delivered');
        continue;
      }
      held.push({ file, entries });
      track(entries, true);
    }
  }

  const schedule = (ms: number) => {
    if (closed || timer || held.length === 0) return;
    timer = setTimeout(() => {
      timer = null;
      void outbox.deliver().then((done) => {
        retryMs = done ? firstRetryMs : Math.min(MAX_RETRY_MS, retryMs * 2);
        if (!done) schedule(retryMs);
      });
    }, ms);
    timer.unref();
  };

  async function deliverOnce(): Promise<boolean> {
    while (held.length > 0) {
      const next = held[0]!;
      try {
        for (const e of next.entries) {
          const stored = await p.storedIds({ tenantId: e.tenantId, table: e.table, events: e.events });
          const rows = e.rows.filter((r) => !stored.has(String(r.id)));
          await p.ch.insert({ tag: `outbox-${e.table}`, table: e.table, rows });
        }
        // a file left behind by a failed unlink is delivered again, and its rows found stored
        if (next.file) await unlink(next.file);
      } catch (err) {
        p.log.warn({ err, heldEvents: outbox.size, retryInMs: retryMs }, 'held telemetry not delivered yet; retrying');
        return false;
      }
      held.shift();
      track(next.entries, false);
      p.log.info({ events: next.entries.reduce((n, e) => n + e.events.length, 0), heldEvents: outbox.size }, 'held telemetry delivered to clickhouse');
    }
    return true;
  }

  const outbox: TelemetryOutbox = {
    isHeld: (tenantId, table, id) => ids.get(keyOf(tenantId, table))?.has(id) ?? false,

    async hold(entries, cause) {
      const live = entries.filter((e) => e.events.length > 0);
      if (live.length === 0) return;
      let file: string | null = null;
      if (p.dir) {
        // written whole and synced before the batch is answered; the name sorts in arrival order
        file = join(p.dir, `${Date.now().toString().padStart(15, '0')}-${randomUUID()}.json`);
        const partial = `${file}.partial`;
        const handle = await open(partial, 'w');
        try {
          await handle.writeFile(JSON.stringify(live));
          await handle.datasync();
        } finally {
          await handle.close();
        }
        await rename(partial, file);
      }
      held.push({ file, entries: live });
      track(live, true);
      p.log.warn({ err: cause, events: live.reduce((n, e) => n + e.events.length, 0), heldEvents: outbox.size },
        'clickhouse refused telemetry whose state is committed; held for delivery');
      schedule(firstRetryMs);
    },

    deliver() {
      running = running.then(deliverOnce, deliverOnce);
      return running;
    },

    get size() {
      let n = 0;
      for (const set of ids.values()) n += set.size;
      return n;
    },

    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
  schedule(0);
  return outbox;
}
