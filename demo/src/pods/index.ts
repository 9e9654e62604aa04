/**
 * Local "pods": each simulated workload as its own process inside its own
 * cgroup v2 directory (`<cgroup2 root>/<name>/<namespace>/<app>`), so the
 * kernel primitives (quarantine, session kill, flows, the TLS tap) act on it
 * as they would on a Kubernetes pod. The launcher owns the directory tree:
 * it reclaims what a crashed run left, and removes it on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensureCgroup2, kernelAvailability } from '@higgs/scanner/workloads';
import { DemoError } from '../errors.ts';
import { parseLine, PodMessage, type NextHop, type PodSpec } from './protocol.ts';

export { PodMessage, type NextHop, type PodSpec } from './protocol.ts';

/** Where the pods go: the cgroup v2 hierarchy and the launcher's directory in it. */
export interface PodsPlan {
  root: string;
  base: string;
}

/**
 * Bundles the pod entry into `<dir>/pod.mjs`, one plain-JS file: a pod then
 * starts in ~0.4 s of CPU, where loading the SDKs through the TypeScript
 * loader takes ~2 s per pod (measured on the demo machine).
 */
export async function bundlePodEntry(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'pod.mjs');
  await build({
    entryPoints: [MAIN], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent',
    // CommonJS dependencies inside an ESM bundle still call require() for Node's built-ins
    banner: { js: "import { createRequire as __higgsRequire } from 'node:module'; const require = __higgsRequire(import.meta.url);" },
  });
  return outfile;
}

/**
 * Whether the workloads can run as cgroup pods with the kernel primitives
 * here (root, cgroup v2 — mounted at /sys/fs/cgroup/unified on a v1-only
 * host —, BTF and the bpf addon), and why not otherwise. Reclaims the pods
 * and directories a crashed earlier run left under `<root>/<name>`.
 */
export async function planPods(name: string): Promise<PodsPlan | { reason: string }> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return { reason: `not a cgroup name: ${name}` };
  if (process.getuid?.() !== 0) return { reason: 'not root (cgroups and BPF programs need it)' };
  const cg = ensureCgroup2();
  if ('reason' in cg) return { reason: cg.reason };
  const kernel = kernelAvailability();
  if (!kernel.available) return { reason: kernel.reasons.join('; ') };
  const base = join(cg.root, name);
  const busy = await reclaim(base);
  return busy ? { reason: busy } : { root: cg.root, base };
}

/** A running pod process. */
export interface Pod {
  namespace: string;
  app: string;
  pid: number;
  /** its cgroup v2 directory */
  cgroup: string;
  /** to a hop: where the next hop listens */
  send(msg: NextHop): void;
  readonly child: ChildProcess;
}

export interface PodHandlers {
  message(msg: PodMessage): void;
  /** an unreadable report or an unexpected exit: said, never dropped */
  problem(text: string): void;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/**
 * Starts a pod process in `<base>/<namespace>/<app>`. The shell writes its
 * own pid into `cgroup.procs` before it execs node, so the workload's first
 * instruction — and every connect — already runs in its cgroup.
 */
export function spawnPod(plan: PodsPlan, entry: string, target: { namespace: string; app: string }, spec: PodSpec, on: PodHandlers): Pod {
  const cgroup = join(plan.base, cgroupName(target.namespace), cgroupName(target.app));
  mkdirSync(cgroup, { recursive: true });
  const child = spawn('/bin/sh', ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cgroup, process.execPath, entry, JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const label = `${target.namespace}/${target.app}`;
  let stopping = false;
  child.stdin!.on('error', () => undefined); // a pod that already exited: its exit is reported below
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = parseLine(PodMessage, line);
    if (msg) on.message(msg);
    else on.problem(`pod ${label} sent an unreadable report (${line.length} bytes)`);
  });
  child.once('exit', (code, signal) => {
    if (!stopping) on.problem(`pod ${label} exited (${signal ?? `code ${code}`})`);
  });
  child.once('error', (err) => on.problem(`pod ${label} did not start: ${err.message}`));
  // the caller's stop() ends stdin: mark it so the exit is not reported as a problem
  child.stdin!.once('finish', () => {
    stopping = true;
  });
  return {
    ...target,
    pid: child.pid ?? -1,
    cgroup,
    child,
    send: (msg) => {
      if (child.stdin!.writable) child.stdin!.write(`${JSON.stringify(msg)}\n`);
    },
  };
}

/**
 * Stops the pods (stdin closed, then SIGKILL for any still running after
 * `graceMs`) and removes the cgroup tree under `plan.base`.
 */
export async function stopPods(plan: PodsPlan, pods: readonly Pod[], graceMs = 3000): Promise<void> {
  const running = pods.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const exited = Promise.all(running.map((p) => once(p.child, 'exit')));
  for (const p of running) p.child.stdin!.end();
  const timeout = new AbortController();
  const inTime = await Promise.race([exited.then(() => true), delay(graceMs, false, { signal: timeout.signal }).catch(() => false)]);
  timeout.abort();
  if (!inTime) {
    killTree(plan.base);
    await exited;
  }
  await removeTree(plan.base);
}

// Runs outside the pods' cgroups and the terminal's process group; plain JS, so it starts at once.
const REAPER = `
const fs = require('node:fs'), path = require('node:path');
const [base, pinDir] = process.argv.slice(1);
const tree = (d) => { try { return [...fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => tree(path.join(d, e.name))), d]; } catch { return []; } };
const empty = () => tree(base).every((d) => { try { return fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim() === ''; } catch { return true; } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
process.stdin.resume();
process.stdin.on('end', async () => {
  for (let i = 0; i < 60 && !empty(); i++) {
    if (i === 40) try { fs.writeFileSync(path.join(base, 'cgroup.kill'), '1'); } catch {}
    await sleep(50);
  }
  for (let i = 0; i < 20 && tree(base).length > 0; i++) {
    for (const d of tree(base)) try { fs.rmdirSync(d); } catch {}
    await sleep(50);
  }
  fs.rmSync(pinDir, { recursive: true, force: true });
  process.exit(0);
});`;

/**
 * A watcher that finishes the cleanup if the launcher dies before it could
 * (a SIGKILL; tsx escalates to one when a loaded launcher is slow to confirm
 * a Ctrl-C): when its stdin — held by the launcher — ends, it waits for the
 * pods to end (they follow their own stdin), kills what is left, removes the
 * cgroup tree and the pins. After a normal stop it finds nothing to do.
 * `release()` ends it.
 */
export function startReaper(plan: PodsPlan, pinDir: string): { release(): void } {
  const child = spawn(process.execPath, ['-e', REAPER, plan.base, pinDir], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
  child.stdin!.on('error', () => undefined);
  child.unref();
  return { release: () => child.stdin!.end() };
}

function cgroupName(part: string): string {
  // Kubernetes names are DNS labels; anything else is not a directory name here
  if (!/^[A-Za-z0-9_.-]+$/.test(part) || part === '.' || part === '..') throw new TypeError(`not a cgroup name: ${part}`);
  return part;
}

/** Every cgroup directory under `base` (itself included), deepest first. */
function cgroupTree(base: string): string[] {
  if (!existsSync(base)) return [];
  const subdirs = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap((d) => cgroupTree(join(base, d.name)));
  return [...subdirs, base];
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function parentOf(pid: number): number | null {
  try {
    const m = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** SIGKILL to every process under `base`: `cgroup.kill` (Linux >= 5.14), else pid by pid. */
function killTree(base: string): void {
  try {
    writeFileSync(join(base, 'cgroup.kill'), '1');
    return;
  } catch {
    // an older kernel: one pid at a time below
  }
  for (const dir of cgroupTree(base)) {
    for (const pid of pidsIn(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
}

/** Removes the (empty) cgroup tree; an exiting process keeps a directory busy a moment, so it retries for a second. */
async function removeTree(base: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const left: string[] = [];
    for (const dir of cgroupTree(base)) {
      try {
        rmdirSync(dir);
      } catch {
        left.push(dir);
      }
    }
    if (left.length === 0) return;
    if (attempt >= 20) throw new DemoError('CGROUP_CLEANUP_FAILED', `cgroups not removed (processes still in them?): ${left.join(', ')}`);
    await delay(50);
  }
}

/**
 * Reclaims a crashed run's tree. Its pods end when their launcher dies (their
 * stdin closes), so only empty directories normally remain; a process still
 * there after a second whose parent lives belongs to a running launcher, and
 * its tree is left alone.
 */
async function reclaim(base: string): Promise<string | null> {
  if (!existsSync(base)) return null;
  const pids = () => cgroupTree(base).flatMap(pidsIn);
  for (let i = 0; i < 20 && pids().length > 0; i++) await delay(50);
  for (const pid of pids()) {
    const parent = parentOf(pid);
    if (parent !== null && parent > 1 && existsSync(`/proc/${parent}`)) return `${base} holds the pods of a running launcher (pid ${parent})`;
  }
  if (pids().length > 0) {
    killTree(base);
    for (let i = 0; i < 20 && pids().length > 0; i++) await delay(50);
  }
  await removeTree(base);
  return null;
}
