import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availability } from '@higgs/bpf';

/** Where a hybrid (v1 + v2) host mounts its cgroup v2 hierarchy, and where we mount one if there is none. */
export const CGROUP2_FALLBACK_MOUNT = '/sys/fs/cgroup/unified';

function cgroup2Mounts(): string[] {
  // /proc/self/mountinfo: "... mount_point options ... - fstype source super_options"
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').flatMap((line) => {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    return dash > 0 && fields[dash + 1] === 'cgroup2' ? [(fields[4] ?? '').replace(/\\040/g, ' ')] : [];
  });
}

/**
 * The cgroup v2 hierarchy: the mounted one (`/sys/fs/cgroup` on a unified
 * host, `/sys/fs/cgroup/unified` on a hybrid one), else one mounted at
 * `/sys/fs/cgroup/unified` (needs root; a v1-only host can still mount v2
 * alongside, with the controllers v1 does not hold). Returns why not otherwise.
 */
export function ensureCgroup2(): { root: string; mounted: boolean } | { reason: string } {
  const existing = cgroup2Mounts()[0];
  if (existing) return { root: existing, mounted: false };
  if (process.getuid?.() !== 0) return { reason: 'no cgroup v2 hierarchy mounted, and mounting one needs root' };
  try {
    mkdirSync(CGROUP2_FALLBACK_MOUNT, { recursive: true });
    execFileSync('mount', ['-t', 'cgroup2', 'none', CGROUP2_FALLBACK_MOUNT], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { root: CGROUP2_FALLBACK_MOUNT, mounted: true };
  } catch (err) {
    return { reason: `no cgroup v2 hierarchy mounted, and mounting one at ${CGROUP2_FALLBACK_MOUNT} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/**
 * A local "pod": a real cgroup v2 directory its processes are moved into, so
 * the kernel programs see them under one cgroup id.
 */
export interface PodCgroup {
  dir: string;
  /** Moves a running process into the pod (its children follow it). */
  add(pid: number): void;
  /** The processes in the pod now. */
  pids(): number[];
  /** Moves any remaining process back to `parent` and removes the directory. */
  remove(): void;
}

/** Creates (or reuses) `<parent>/<name>` as a pod cgroup. */
export function podCgroup(parent: string, name: string): PodCgroup {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new TypeError(`not a cgroup name: ${name}`);
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const pids = (): number[] => pidsOfCgroup(dir);
  return {
    dir,
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    pids,
    remove() {
      for (const pid of pids()) {
        try {
          writeFileSync(join(parent, 'cgroup.procs'), String(pid));
        } catch {
          // exited meanwhile
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        // a process still exiting keeps it busy a moment; the caller's parent removal retries
      }
    },
  };
}

/** The processes of a cgroup v2 directory now (none when it is gone). */
export function pidsOfCgroup(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The network namespace of a cgroup pod, as a path the kernel session kill can
 * walk (`/proc/PID/ns/net` of the first live process in its `cgroup.procs`),
 * or null when it has no process or shares this process's namespace. Read at
 * the moment of the kill: a pod's processes come and go.
 */
export function netnsOfCgroup(dir: string): string | null {
  const own = statSync('/proc/self/ns/net');
  for (const pid of pidsOfCgroup(dir)) {
    const path = `/proc/${pid}/ns/net`;
    try {
      const ns = statSync(path);
      return ns.ino === own.ino && ns.dev === own.dev ? null : path;
    } catch {
      // exited since the list was read: the next one
    }
  }
  return null;
}

/**
 * Whether the kernel primitives can act on local pods here, with every reason
 * they cannot (root, kernel BTF, cgroup v2, the bpf addon and its objects).
 * Changes nothing; call `ensureCgroup2()` first on a host that may lack v2.
 */
export function kernelAvailability(): { available: boolean; reasons: string[] } {
  return availability();
}
