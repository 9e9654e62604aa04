import { existsSync } from 'node:fs';
import { BpfError, BpfErrorCode } from './errors.ts';
import { openFlowTrace, type FlowTrace } from './flow.ts';
import { loadNative, objectPath } from './native.ts';
import { openConnectPrograms, type Quarantine, type Redirect } from './quarantine.ts';
import { openSessionKill, type SessionKill } from './session-kill.ts';
import { openTlsObservation, type TlsObservation } from './tls.ts';
import { DEFAULT_PIN_DIR, bpffsMounted, ensureBpffs, findCgroup2Root, kernelBtfPresent } from './system.ts';

export { BpfError, BpfErrorCode } from './errors.ts';
export type { EventStream } from './event-stream.ts';
export type { FlowTrace } from './flow.ts';
export { decodeEvent, parseCidr, LAYOUTS } from './layout.ts';
export type { Cidr, CounterName, Endpoint, HiggsEvent, QuarantineEntry, RedirectOrigin, RedirectTarget, SocketTuple, TcpState, TlsEvent } from './layout.ts';
export type { Quarantine, Redirect } from './quarantine.ts';
export type { KilledSocket, KillPass, KillScope, SessionKill } from './session-kill.ts';
export type { TlsObservation, TlsTarget } from './tls.ts';
export { defaultTlsTargets } from './tls.ts';
export { DEFAULT_PIN_DIR, cgroupIdOf, cgroupOfPid, findCgroup2Root } from './system.ts';

/** Whether the kernel primitives can run here, and every reason they cannot. */
export interface Availability {
  available: boolean;
  reasons: string[];
}

/**
 * Checks, without changing anything, what the kernel primitives need: the
 * addon and objects built at install, root, kernel BTF, cgroup v2 and bpffs
 * (mountable as root). A caller states the reasons once and runs proxy-only.
 */
export function availability(): Availability {
  const reasons: string[] = [];
  const native = loadNative();
  if ('reason' in native) reasons.push(`unavailable: ${native.reason}`);
  for (const name of ['quarantine', 'flow', 'kill', 'tls']) {
    if ('binding' in native && !existsSync(objectPath(name))) reasons.push(`unavailable: ${name}.bpf.o not built`);
  }
  if (process.getuid?.() !== 0) reasons.push('unavailable: not root (loading BPF programs needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)');
  if (!kernelBtfPresent()) reasons.push('unavailable: kernel has no BTF (/sys/kernel/btf/vmlinux)');
  if (!findCgroup2Root()) reasons.push('unavailable: no cgroup v2 hierarchy mounted');
  return { available: reasons.length === 0, reasons };
}

export interface LoadOptions {
  /** Pin directory under bpffs; a restarted loader with the same one adopts the pins. */
  pinDir?: string;
  /** cgroup v2 directory the quarantine programs attach to (default: the hierarchy root). */
  cgroupRoot?: string;
  /** Also start flow tracing (default true). */
  flows?: boolean;
  /**
   * TLS plaintext observation: true for `defaultTlsTargets()`, or the binaries
   * to probe. Off by default: it reads the plaintext of every process on the
   * host that uses those binaries, so turning it on is a deliberate choice.
   */
  tls?: boolean | string[];
}

/** The loaded primitives. `close()` releases this process's handles; pinned enforcement stays. */
export interface HiggsPrograms {
  quarantine: Quarantine;
  /** Transparent redirect to the node proxy (same pinned programs and lifetime as the quarantine). */
  redirect: Redirect;
  /** Null when not requested. */
  flows: FlowTrace | null;
  /** Null when not requested or not loadable (see `unavailable`); `targets` says what each binary took. */
  tls: TlsObservation | null;
  /** Null when this kernel cannot run it (bpf_sock_destroy needs Linux >= 6.5); see `unavailable`. */
  sessions: SessionKill | null;
  /** Primitives that did not load here, each with its reason, for the caller to state once. */
  unavailable: string[];
  close(): void;
}

/**
 * Loads the kernel primitives, or adopts those pinned under `pinDir` by an
 * earlier (possibly crashed) process. Mounts bpffs at /sys/fs/bpf if needed.
 * Throws BPF_UNAVAILABLE with the reasons when `availability()` says no.
 *
 * @example
 * const bpf = loadPrograms();
 * bpf.quarantine.addProvider('104.18.0.0/16');
 * bpf.quarantine.quarantine(cgroupIdOf('/sys/fs/cgroup/unified/payments'));
 */
export function loadPrograms(opts: LoadOptions = {}): HiggsPrograms {
  const avail = availability();
  const native = loadNative();
  if (!avail.available || !('binding' in native)) throw new BpfError(BpfErrorCode.UNAVAILABLE, avail.reasons.join('; '));
  const cgroupRoot = opts.cgroupRoot ?? findCgroup2Root()!;
  try {
    ensureBpffs();
  } catch (err) {
    throw new BpfError(BpfErrorCode.UNAVAILABLE, `unavailable: bpffs not mounted at /sys/fs/bpf and mounting failed`, { cause: err });
  }
  if (!bpffsMounted()) throw new BpfError(BpfErrorCode.UNAVAILABLE, 'unavailable: bpffs not mounted at /sys/fs/bpf');
  const { quarantine, redirect } = openConnectPrograms(native.binding, { pinDir: opts.pinDir ?? DEFAULT_PIN_DIR, cgroupRoot });
  let flows: FlowTrace | null = null;
  try {
    if (opts.flows !== false) flows = openFlowTrace(native.binding);
  } catch (err) {
    quarantine.close();
    throw err;
  }
  const unavailable: string[] = [];
  let sessions: SessionKill | null = null;
  try {
    sessions = openSessionKill(native.binding);
  } catch (err) {
    // an older kernel lacks the bpf_sock_destroy kfunc: the rest still runs
    unavailable.push(`session kill unavailable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  let tls: TlsObservation | null = null;
  if (opts.tls) {
    try {
      tls = openTlsObservation(native.binding, opts.tls === true ? undefined : opts.tls);
      for (const t of tls.targets) if (t.error) unavailable.push(`TLS uprobes unavailable on ${t.path}: ${t.error}`);
    } catch (err) {
      unavailable.push(`TLS observation unavailable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  return {
    quarantine,
    redirect,
    flows,
    tls,
    sessions,
    unavailable,
    close() {
      tls?.close();
      sessions?.close();
      flows?.close();
      quarantine.close();
    },
  };
}
