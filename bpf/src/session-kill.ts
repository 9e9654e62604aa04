import { constants } from 'node:os';
import { BpfError, BpfErrorCode } from './errors.ts';
import { decodeSockKey, encodeSockKey, LAYOUTS, tcpState, type CounterName, type SocketTuple, type TcpState } from './layout.ts';
import { mapOp, readCounters } from './maps.ts';
import { objectPath, type IterPass, type LinkHandle, type NativeBinding, type ObjectHandle } from './native.ts';

/** A socket the kernel destroyed (or failed to) for a session kill. */
export interface KilledSocket {
  tuple: SocketTuple;
  cookie: bigint;
  /** TCP state before the kill. */
  state: TcpState | null;
  /** Errno name when bpf_sock_destroy() refused, else null. */
  error: string | null;
}

/** What one `kill()` got back: its sockets, and the pass that served it. */
export interface KillPass {
  killed: KilledSocket[];
  /** How many `kill()` calls this one kernel pass served (orders that arrived while another pass ran are batched). */
  batched: number;
  /** The walk ran on a real-time (SCHED_FIFO) thread; false where the kernel refused the priority. */
  realtime: boolean;
  /** On the clock of `process.hrtime.bigint()`, in ns. */
  timing: {
    /** `kill()` was called */
    calledNs: bigint;
    /** the worker thread began the walk (a target socket is destroyed somewhere between start and end) */
    startNs: bigint;
    /** the walk ended */
    endNs: bigint;
    /** the result reached the event loop */
    doneNs: bigint;
  };
}

/** Where a kill looks for its sockets. */
export interface KillScope {
  /**
   * The path of the network namespace holding the sockets (`/proc/PID/ns/net`
   * of a process in the workload, `/run/netns/NAME`); absent = this process's.
   * An iter/tcp walks one namespace's TCP hash: a workload in a namespace of
   * its own is reached only from there (and its hash, sized by
   * `net.ipv4.tcp_child_ehash_entries`, may be far smaller than the host's).
   */
  netns?: string;
}

/**
 * Session kill (src/kill.bpf.c): destroys exactly the given sockets with
 * bpf_sock_destroy() from an iter/tcp program; their owners get ECONNABORTED,
 * every other socket (same process, same cgroup) is untouched. Covers the
 * network namespace of this process, or the one a call names.
 */
export interface SessionKill {
  /**
   * Destroys the sockets with these tuples in one pass walked on a worker
   * thread: the event loop keeps serving while the kernel walks its TCP hash.
   * Calls made while a pass runs share the next pass. Use this on a serving
   * process (the scanner).
   */
  kill(tuples: SocketTuple[], scope?: KillScope): Promise<KillPass>;
  /** The same pass on the calling thread, blocking it for the walk (2 ms over 262 144 buckets). */
  destroy(tuples: SocketTuple[], scope?: KillScope): KilledSocket[];
  counters(): Record<CounterName, bigint>;
  close(): void;
}

const errnoName = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export function openSessionKill(native: NativeBinding): SessionKill {
  let obj: ObjectHandle | null = null;
  try {
    obj = native.openObject(objectPath('kill'));
    native.loadObject(obj);
  } catch (err) {
    if (obj) native.closeObject(obj);
    throw new BpfError(BpfErrorCode.LOAD_FAILED, `load kill.bpf.o: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const maps = Object.fromEntries(native.objectMaps(obj).map((m) => [m.name, m.fd]));
  let iter: LinkHandle;
  try {
    iter = native.attachIter(obj, 'higgs_kill');
  } catch (err) {
    native.closeObject(obj);
    throw new BpfError(BpfErrorCode.ATTACH_FAILED, `attach higgs_kill: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let open: ObjectHandle | null = obj;
  const handle = (): ObjectHandle => {
    if (!open) throw new BpfError(BpfErrorCode.CLOSED, 'session kill is closed');
    return open;
  };
  const RECORD = LAYOUTS.higgs_kill_record;
  const KEY = LAYOUTS.higgs_sock_key;
  const decode = (out: Buffer): { key: string; socket: KilledSocket }[] => {
    const records: { key: string; socket: KilledSocket }[] = [];
    for (let at = 0; at + RECORD.size <= out.length; at += RECORD.size) {
      const rec = out.subarray(at, at + RECORD.size);
      const key = rec.subarray(RECORD.offsets.key, RECORD.offsets.key + KEY.size);
      const err = rec.readInt32LE(RECORD.offsets.err);
      records.push({
        key: key.toString('hex'),
        socket: {
          tuple: decodeSockKey(key),
          cookie: rec.readBigUInt64LE(RECORD.offsets.cookie),
          state: tcpState(rec.readUInt32LE(RECORD.offsets.state)),
          error: err === 0 ? null : (errnoName.get(-err) ?? `errno ${-err}`),
        },
      });
    }
    return records;
  };
  const one = Buffer.from([1, 0, 0, 0]);
  const putTargets = (keys: Iterable<Buffer>): void => {
    for (const key of keys) mapOp('kill target', () => native.mapUpdate(maps.kill_targets!, key, one, 0));
  };
  // after close() the map fd is gone (and its number may be reused): nothing to delete
  const dropTargets = (keys: Iterable<Buffer>): void => {
    if (!open) return;
    for (const key of keys) native.mapDelete(maps.kill_targets!, key);
  };
  const runFailed = (err: unknown): BpfError =>
    new BpfError(BpfErrorCode.ATTACH_FAILED, `run higgs_kill: ${err instanceof Error ? err.message : String(err)}`, { cause: err });

  // Orders that arrive while a pass runs wait for the next pass of their
  // network namespace, which then serves all of them: one walk of a hash per
  // batch, not per order. Batches of different namespaces run one after another.
  interface Waiter { keys: string[]; calledNs: bigint; resolve: (p: KillPass) => void; reject: (e: unknown) => void }
  interface Batch { netns: string | undefined; keys: Map<string, Buffer>; waiters: Waiter[] }
  // by namespace path ('' = this process's), in arrival order
  const pending = new Map<string, Batch>();
  let running = false;
  const startPass = (): void => {
    const first = pending.entries().next();
    if (first.done) return;
    const [scopeKey, batch] = first.value;
    pending.delete(scopeKey);
    if (!open) {
      for (const w of batch.waiters) w.reject(new BpfError(BpfErrorCode.CLOSED, 'session kill is closed'));
      return;
    }
    running = true;
    const settle = (fn: () => void): void => {
      dropTargets(batch.keys.values());
      running = false;
      fn();
      startPass();
    };
    let pass: Promise<IterPass>;
    try {
      putTargets(batch.keys.values());
      try {
        pass = native.iterRunAsync(iter, batch.netns);
      } catch (err) {
        throw runFailed(err);
      }
    } catch (err) {
      settle(() => { for (const w of batch.waiters) w.reject(err); });
      return;
    }
    pass.then(
      ({ records, startNs, endNs, realtime }) => settle(() => {
        const doneNs = process.hrtime.bigint();
        const found = decode(records);
        for (const w of batch.waiters) {
          const mine = new Set(w.keys);
          w.resolve({
            killed: found.filter((f) => mine.has(f.key)).map((f) => f.socket),
            batched: batch.waiters.length,
            realtime,
            timing: { calledNs: w.calledNs, startNs, endNs, doneNs },
          });
        }
      }),
      (err: unknown) => settle(() => { for (const w of batch.waiters) w.reject(runFailed(err)); }),
    );
  };

  return {
    kill(tuples, scope = {}) {
      const calledNs = process.hrtime.bigint();
      return new Promise<KillPass>((resolve, reject) => {
        handle();
        const keys = tuples.map(encodeSockKey);
        if (keys.length === 0) {
          resolve({ killed: [], batched: 0, realtime: false, timing: { calledNs, startNs: calledNs, endNs: calledNs, doneNs: calledNs } });
          return;
        }
        const scopeKey = scope.netns ?? '';
        let next = pending.get(scopeKey);
        if (!next) pending.set(scopeKey, (next = { netns: scope.netns, keys: new Map(), waiters: [] }));
        for (const key of keys) next.keys.set(key.toString('hex'), key);
        next.waiters.push({ keys: keys.map((k) => k.toString('hex')), calledNs, resolve, reject });
        if (!running) startPass();
      });
    },
    destroy(tuples, scope = {}) {
      handle();
      const keys = tuples.map(encodeSockKey);
      try {
        putTargets(keys);
        let out: Buffer;
        try {
          out = native.iterRun(iter, scope.netns);
        } catch (err) {
          throw runFailed(err);
        }
        return decode(out).map((r) => r.socket);
      } finally {
        dropTargets(keys);
      }
    },
    counters: () => {
      handle();
      return readCounters(native, maps.counters!);
    },
    close() {
      if (!open) return;
      native.destroyLink(iter);
      native.closeObject(open);
      open = null;
    },
  };
}
