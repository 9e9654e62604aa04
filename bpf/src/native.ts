import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Opaque handles owned by the addon. */
export type ObjectHandle = { readonly __brand: 'bpf_object' };
export type LinkHandle = { readonly __brand: 'bpf_link' };
export type RingbufHandle = { readonly __brand: 'ring_buffer' };

export interface MapInfo {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  id: number;
  name: string;
}

/** What one asynchronous iterator pass wrote, and when the worker ran it. */
export interface IterPass {
  records: Buffer;
  startNs: bigint;
  endNs: bigint;
  /** The walker thread runs at a real-time priority (SCHED_FIFO); false where the kernel refused it. */
  realtime: boolean;
}

/**
 * The N-API addon over libbpf (native/higgs_bpf.c). Byte buffers in and out;
 * failures throw an Error whose `code` is the errno name (EPERM, ENOENT, ...)
 * and whose message carries libbpf's log, the verifier log for a failed load.
 */
export interface NativeBinding {
  openObject(path: string): ObjectHandle;
  closeObject(obj: ObjectHandle): void;
  reuseMap(obj: ObjectHandle, mapName: string, pinnedPath: string): void;
  loadObject(obj: ObjectHandle): void;
  objectMaps(obj: ObjectHandle): { name: string; fd: number }[];
  attach(obj: ObjectHandle, progName: string, cgroupPath: string | null): LinkHandle;
  attachUprobe(obj: ObjectHandle, progName: string, binaryPath: string, funcName: string, retprobe: boolean): LinkHandle;
  destroyLink(link: LinkHandle): void;
  pinLink(link: LinkHandle, path: string): void;
  detachPinnedLink(path: string): void;
  objGet(path: string): number;
  objPin(fd: number, path: string): void;
  dupFd(fd: number): number;
  closeFd(fd: number): void;
  mapInfo(fd: number): MapInfo;
  mapLookup(fd: number, key: Buffer, valueBytes: number): Buffer | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, keyBytes: number): Buffer | null;
  possibleCpus(): number;
  ringbufOpen(mapFd: number, onRecords: (records: Buffer[]) => void): RingbufHandle;
  ringbufClose(rb: RingbufHandle): void;
  attachIter(obj: ObjectHandle, progName: string): LinkHandle;
  /**
   * One iterator pass on the calling thread. `netns`: the path of a network
   * namespace file (`/proc/PID/ns/net`); an iter/tcp then walks that
   * namespace's TCP hash instead of the caller's (the iterator is created on
   * a short-lived thread that joined it; no other thread changes namespace).
   */
  iterRun(iterLink: LinkHandle, netns?: string): Buffer;
  /**
   * One iterator pass read on the addon's walker thread (one per environment,
   * normal priority unless HIGGS_KILL_WALKER_RT=1): the event loop runs on during the walk. Passes
   * run in call order. `startNs`/`endNs` are when the walker began and ended
   * the pass, on the clock of `process.hrtime.bigint()`. `netns` as for iterRun.
   */
  iterRunAsync(iterLink: LinkHandle, netns?: string): Promise<IterPass>;
  libbpfVersion(): string;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm install` (scripts/build.mjs) leaves the addon and the BPF objects. */
export const BUILD_DIR = join(packageRoot, 'build');
const ADDON_PATH = join(BUILD_DIR, 'Release', 'higgs_bpf.node');

/** Path of a compiled program object, e.g. `objectPath('quarantine')`. */
export function objectPath(name: string): string {
  return join(BUILD_DIR, `${name}.bpf.o`);
}

let cached: { binding: NativeBinding } | { reason: string } | null = null;

/**
 * Loads the addon once. Returns the binding, or why it is unavailable (the
 * build's own reason when the install could not compile it).
 */
export function loadNative(): { binding: NativeBinding } | { reason: string } {
  if (cached) return cached;
  const unavailable = join(BUILD_DIR, 'unavailable.txt');
  if (existsSync(unavailable)) {
    cached = { reason: readFileSync(unavailable, 'utf8').trim() };
  } else if (!existsSync(ADDON_PATH)) {
    cached = { reason: `addon not built (${ADDON_PATH} missing; run npm run build -w @higgs/bpf)` };
  } else {
    try {
      cached = { binding: createRequire(import.meta.url)(ADDON_PATH) as NativeBinding };
    } catch (err) {
      cached = { reason: `addon failed to load: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return cached;
}
