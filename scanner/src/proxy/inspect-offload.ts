/**
 * Large requests are inspected in a worker thread. The detectors take ~100 ms
 * per MB of prompt (`npm run bench -- detectors`); on the event loop, one 8 MB
 * request (HIGGS_MAX_BODY_BYTES) held every other call through this node for
 * the better part of a second, so any workload could stall its neighbours by
 * sending large prompts. In the worker it waits only for itself.
 *
 * One thread, started at the first large request and ended after `idleMs`
 * without one (an idle scanner keeps no second heap). The text waiting for it
 * is bounded (`maxPendingChars`): past that a large request is refused here
 * and its call handled as one whose detectors failed (the fail modes decide,
 * and the call is recorded uninspected), never queued without bound.
 */
import { Worker } from 'node:worker_threads';
import type { ParsedRequest } from '../providers/types.ts';
import { requestTextChars, type DecisionAndRecord, type InspectionPass } from './inspect.ts';

/** Requests with at least this much text are inspected in the worker. */
export const OFFLOAD_MIN_CHARS = 256 * 1024;
/** Text queued for or in the worker at most (~0.1 s of detection per MB: ~6 s of work). */
export const OFFLOAD_MAX_PENDING_CHARS = 64 * 1024 * 1024;
const IDLE_MS = 30_000;

export interface InspectionOffload {
  /** whether `p` is large enough to be inspected off the event loop */
  wants(p: ParsedRequest): boolean;
  /** inspectForDecisionAndRecord in the worker, without the spans; rejects when the queue is full or the worker fails */
  inspect(p: ParsedRequest, salt: string, pass: InspectionPass): Promise<DecisionAndRecord>;
  /** ends the worker; pending inspections reject */
  close(): Promise<void>;
}

/** A message from the worker: an inspection's result or its error. */
export type WorkerReply = { id: number; result: DecisionAndRecord } | { id: number; error: string };
/** A message to the worker. */
export interface WorkerJob { id: number; request: ParsedRequest; salt: string; pass: InspectionPass }

interface Job { chars: number; resolve(r: DecisionAndRecord): void; reject(err: Error): void }

/**
 * The worker's entry: the bundle's own file when the scanner runs from dist/ (scripts/bundle.mjs
 * builds both), else a bootstrap that registers tsx in the thread and loads inspect-worker.ts.
 */
function workerEntry(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./inspect-worker.source.mjs', import.meta.url)
    : new URL('./higgs-inspect-worker.mjs', import.meta.url);
}

export function createInspectionOffload(opts: { minChars?: number; maxPendingChars?: number; idleMs?: number } = {}): InspectionOffload {
  const minChars = opts.minChars ?? OFFLOAD_MIN_CHARS;
  const maxPending = opts.maxPendingChars ?? OFFLOAD_MAX_PENDING_CHARS;
  const idleMs = opts.idleMs ?? IDLE_MS;
  const jobs = new Map<number, Job>();
  let worker: Worker | null = null;
  let idle: NodeJS.Timeout | null = null;
  let pendingChars = 0;
  let nextId = 1;
  let closed = false;

  const settle = (id: number): Job | undefined => {
    const job = jobs.get(id);
    if (!job) return undefined;
    jobs.delete(id);
    pendingChars -= job.chars;
    if (jobs.size === 0 && worker) {
      const w = worker;
      idle = setTimeout(() => {
        if (worker === w && jobs.size === 0) {
          worker = null;
          void w.terminate();
        }
      }, idleMs);
      idle.unref();
    }
    return job;
  };

  const failAll = (err: Error): void => {
    for (const id of [...jobs.keys()]) settle(id)?.reject(err);
  };

  const started = (): Worker => {
    if (idle) clearTimeout(idle);
    idle = null;
    if (worker) return worker;
    const w = new Worker(workerEntry());
    w.unref();
    w.on('message', (m: WorkerReply) => {
      const job = settle(m.id);
      if (!job) return;
      if ('error' in m) {
        job.reject(new Error(`inspection failed in the worker: ${m.error}`));
        return;
      }
      // the worker sends the prompt text once (inspect-worker.ts): the record's is the decision's
      if (m.result.recorded !== m.result.decided) m.result.recorded.promptText = m.result.decided.promptText;
      job.resolve(m.result);
    });
    // the current worker dying takes its pending inspections with it; the next large request starts a new one.
    // One ended for idleness or by close() had none: its exit, which comes later, must not touch its successor's
    const gone = (err: Error): void => {
      if (worker !== w) return;
      worker = null;
      failAll(err);
    };
    w.on('error', (err) => gone(new Error(`inspection worker failed: ${err.message}`)));
    w.on('exit', (code) => gone(new Error(`inspection worker exited (code ${code})`)));
    worker = w;
    return w;
  };

  return {
    wants: (p) => requestTextChars(p) >= minChars,
    inspect(p, salt, pass) {
      const chars = requestTextChars(p);
      if (closed) return Promise.reject(new Error('inspection offload closed'));
      if (pendingChars + chars > maxPending) {
        return Promise.reject(new Error(`inspection queue full (${pendingChars} characters pending, limit ${maxPending})`));
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        jobs.set(id, { chars, resolve, reject });
        pendingChars += chars;
        try {
          started().postMessage({ id, request: p, salt, pass } satisfies WorkerJob);
        } catch (err) {
          settle(id);
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },
    async close() {
      closed = true;
      if (idle) clearTimeout(idle);
      const w = worker;
      worker = null;
      failAll(new Error('inspection offload closed'));
      if (w) await w.terminate();
    },
  };
}
