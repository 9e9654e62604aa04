import { constants } from 'node:os';
import { BpfError, BpfErrorCode } from './errors.ts';
import { decodeSockKey, encodeSockKey, LAYOUTS, tcpState, type CounterName, type SocketTuple, type TcpState } from './layout.ts';
import { mapOp, readCounters } from './maps.ts';
import { objectPath, type LinkHandle, type NativeBinding, type ObjectHandle } from './native.ts';

/** A socket the kernel destroyed (or failed to) for a session kill. */
export interface KilledSocket {
  tuple: SocketTuple;
  cookie: bigint;
  /** TCP state before the kill. */
  state: TcpState | null;
  /** Errno name when bpf_sock_destroy() refused, else null. */
  error: string | null;
}

/**
 * Session kill (src/kill.bpf.c): destroys exactly the given sockets with
 * bpf_sock_destroy() from an iter/tcp program; their owners get ECONNABORTED,
 * every other socket (same process, same cgroup) is untouched. Covers the
 * network namespace of this process.
 */
export interface SessionKill {
  /** Destroys the sockets with these tuples; returns what was found and destroyed. */
  destroy(tuples: SocketTuple[]): KilledSocket[];
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
  return {
    destroy(tuples) {
      handle();
      const keys = tuples.map(encodeSockKey);
      const one = Buffer.from([1, 0, 0, 0]);
      try {
        for (const key of keys) mapOp('kill target', () => native.mapUpdate(maps.kill_targets!, key, one, 0));
        const out = (() => {
          try {
            return native.iterRun(iter);
          } catch (err) {
            throw new BpfError(BpfErrorCode.ATTACH_FAILED, `run higgs_kill: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
          }
        })();
        const killed: KilledSocket[] = [];
        for (let at = 0; at + RECORD.size <= out.length; at += RECORD.size) {
          const rec = out.subarray(at, at + RECORD.size);
          const err = rec.readInt32LE(RECORD.offsets.err);
          killed.push({
            tuple: decodeSockKey(rec.subarray(RECORD.offsets.key, RECORD.offsets.key + LAYOUTS.higgs_sock_key.size)),
            cookie: rec.readBigUInt64LE(RECORD.offsets.cookie),
            state: tcpState(rec.readUInt32LE(RECORD.offsets.state)),
            error: err === 0 ? null : (errnoName.get(-err) ?? `errno ${-err}`),
          });
        }
        return killed;
      } finally {
        for (const key of keys) native.mapDelete(maps.kill_targets!, key);
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
