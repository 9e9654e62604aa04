import { BpfError, BpfErrorCode } from './errors.ts';
import { COUNTERS, type CounterName } from './layout.ts';
import type { NativeBinding } from './native.ts';

/** Runs a native map operation, turning its errno error into a BPF_MAP_FAILED. */
export function mapOp<T>(what: string, op: () => T): T {
  try {
    return op();
  } catch (err) {
    throw new BpfError(BpfErrorCode.MAP_FAILED, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Every key of a hash or trie map (a snapshot; entries may change meanwhile). */
export function mapKeys(native: NativeBinding, fd: number, keyBytes: number): Buffer[] {
  const keys: Buffer[] = [];
  let key: Buffer | null = null;
  for (;;) {
    const prev: Buffer | null = key;
    key = mapOp('map iterate', () => native.mapNextKey(fd, prev, keyBytes));
    if (!key) return keys;
    keys.push(key);
  }
}

/** Sums the per-CPU `counters` map of one object. */
export function readCounters(native: NativeBinding, fd: number): Record<CounterName, bigint> {
  const cpus = native.possibleCpus();
  const out = {} as Record<CounterName, bigint>;
  COUNTERS.forEach((name, index) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(index);
    const values = mapOp('counters lookup', () => native.mapLookup(fd, key, 8 * cpus));
    let sum = 0n;
    for (let cpu = 0; values && cpu < cpus; cpu++) sum += values.readBigUInt64LE(cpu * 8);
    out[name] = sum;
  });
  return out;
}
