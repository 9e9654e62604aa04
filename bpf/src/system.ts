import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';

/** Where bpffs is expected; pins live below it. */
export const BPFFS = '/sys/fs/bpf';
/** Default pin directory: what a restarted scanner adopts. */
export const DEFAULT_PIN_DIR = `${BPFFS}/higgs`;

interface Mount {
  mountPoint: string;
  fsType: string;
}

function mounts(): Mount[] {
  // /proc/self/mountinfo: "... mount_point options ... - fstype source super_options"
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    return { mountPoint: (fields[4] ?? '').replace(/\\040/g, ' '), fsType: fields[dash + 1] ?? '' };
  });
}

/**
 * The cgroup v2 mount point (`/sys/fs/cgroup` on a unified host,
 * `/sys/fs/cgroup/unified` on a hybrid one), or null when there is none.
 */
export function findCgroup2Root(): string | null {
  return mounts().find((m) => m.fsType === 'cgroup2')?.mountPoint ?? null;
}

/** True when bpffs is mounted at `path`. */
export function bpffsMounted(path = BPFFS): boolean {
  return mounts().some((m) => m.fsType === 'bpf' && m.mountPoint === path);
}

/** Mounts bpffs at /sys/fs/bpf when it is not (needs root); pins cannot exist without it. */
export function ensureBpffs(): void {
  if (bpffsMounted()) return;
  execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The id BPF programs see for a cgroup v2 directory (its inode number). */
export function cgroupIdOf(cgroupDir: string): bigint {
  return statSync(cgroupDir, { bigint: true }).ino;
}

/** The cgroup v2 directory of a process, under `cgroupRoot`. */
export function cgroupOfPid(pid: number, cgroupRoot: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return `${cgroupRoot}${line ? line.slice(3) : '/'}`.replace(/\/$/, '') || cgroupRoot;
}

export function kernelBtfPresent(): boolean {
  return existsSync('/sys/kernel/btf/vmlinux');
}
