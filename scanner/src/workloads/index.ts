import { type FSWatcher, readFileSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { WorkloadMode, WorkloadRef } from '@higgs/schema';
import { z } from 'zod';
import type { Logger } from '../logger.ts';

/** A workload ("pod") as the source address resolves it. */
export interface Workload {
  namespace: string;
  app: string;
  /** enforce with `higgs.io/enforce=enabled`, observe with `higgs.scan=enabled`, else null */
  mode: WorkloadMode | null;
  /** its cgroup v2 directory, when known: the kernel primitives act on it */
  cgroup?: string;
}

/** Where the proxy learns which workload a client address belongs to. */
export interface WorkloadSource {
  resolve(ip: string): Workload | null;
  /**
   * The workload whose cgroup v2 directory has this id (its inode number, as
   * the kernel programs report it in flow, redirect and TLS events); absent
   * on sources that know no cgroups.
   */
  resolveCgroup?(cgroupId: bigint): Workload | null;
  close(): void;
}

const WorkloadsFile = z.object({
  workloads: z.array(z.object({
    namespace: z.string().min(1),
    app: z.string().min(1),
    // a cgroup "pod" may have no address of its own: it shares the node's network namespace
    ips: z.array(z.string().min(1)).default([]),
    labels: z.record(z.string(), z.string()).default({}),
    cgroup: z.string().min(1).optional(),
  })),
});

/** The workload label semantics: enforcement implies observation. */
export function modeFromLabels(labels: Record<string, string>): WorkloadMode | null {
  if (labels['higgs.io/enforce'] === 'enabled') return 'enforce';
  if (labels['higgs.scan'] === 'enabled') return 'observe';
  return null;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** The WorkloadRef recorded on every observation: unknown sources are observed with null attributes. */
export function workloadRef(ip: string, workload: Workload | null): WorkloadRef {
  return { ip: normalizeIp(ip), namespace: workload?.namespace ?? null, app: workload?.app ?? null, mode: workload?.mode ?? null };
}

/**
 * Local mode: workloads from a JSON file
 * (`{"workloads":[{"namespace","app","ips":[…],"labels":{…}}]}`), re-read when
 * it changes (fs.watch on its directory, so editors' rename-on-save is seen,
 * plus a 1 s mtime check because fs.watch misses events on some filesystems).
 * A file that fails validation is reported and the previous table is kept.
 */
export class LocalFileWorkloadSource implements WorkloadSource {
  private byIp = new Map<string, Workload>();
  private byCgroup = new Map<bigint, Workload>();
  private cgroupsStatAt = 0;
  private all: Workload[] = [];
  private mtimeMs = -1;
  private watcher: FSWatcher | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly file: string, private readonly logger: Logger, pollMs = 1000) {
    this.reload();
    try {
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name === null || name === basename(file)) this.reload();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch (err) {
      logger.warn({ err, file }, 'cannot watch the workloads file; falling back to polling');
    }
    this.timer = setInterval(() => this.reload(), pollMs);
    this.timer.unref();
  }

  resolve(ip: string): Workload | null {
    return this.byIp.get(normalizeIp(ip)) ?? null;
  }

  resolveCgroup(cgroupId: bigint): Workload | null {
    const hit = this.byCgroup.get(cgroupId);
    if (hit) return hit;
    // a pod's cgroup may be created (or re-created, with a new id) after the file was read
    if (Date.now() - this.cgroupsStatAt > 200) this.indexCgroups();
    return this.byCgroup.get(cgroupId) ?? null;
  }

  private indexCgroups(): void {
    this.cgroupsStatAt = Date.now();
    const next = new Map<bigint, Workload>();
    for (const w of this.all) {
      if (!w.cgroup) continue;
      try {
        next.set(statSync(w.cgroup, { bigint: true }).ino, w);
      } catch {
        // not created yet: resolved once it exists
      }
    }
    this.byCgroup = next;
  }

  /** Every workload of the current table. */
  list(): readonly Workload[] {
    return this.all;
  }

  close(): void {
    clearInterval(this.timer);
    this.watcher?.close();
  }

  private reload(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      if (this.mtimeMs !== 0) this.logger.warn({ file: this.file }, 'workloads file missing; no workload attribution');
      this.mtimeMs = 0;
      this.byIp = new Map();
      this.byCgroup = new Map();
      this.all = [];
      return;
    }
    if (mtimeMs === this.mtimeMs) return;
    try {
      const parsed = WorkloadsFile.parse(JSON.parse(readFileSync(this.file, 'utf8')));
      const next = new Map<string, Workload>();
      const all: Workload[] = [];
      for (const w of parsed.workloads) {
        const workload: Workload = { namespace: w.namespace, app: w.app, mode: modeFromLabels(w.labels), ...(w.cgroup ? { cgroup: w.cgroup } : {}) };
        all.push(workload);
        for (const ip of w.ips) next.set(normalizeIp(ip), workload);
      }
      this.byIp = next;
      this.all = all;
      this.mtimeMs = mtimeMs;
      this.indexCgroups();
      this.logger.info({ file: this.file, workloads: parsed.workloads.length }, 'workloads loaded');
    } catch (err) {
      this.mtimeMs = mtimeMs;
      this.logger.warn({ err, file: this.file }, 'workloads file invalid; keeping the previous table');
    }
  }
}

/** No workload file: every source is unknown (observed, never enforced). */
export const noWorkloads: WorkloadSource = { resolve: () => null, close: () => {} };
