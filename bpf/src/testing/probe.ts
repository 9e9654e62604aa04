import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

// A child process that opens and writes TCP connections on command (JSON lines
// on stdin/stdout), so a test can place a real process in a cgroup and watch
// what the kernel lets it do.
const PROBE_SCRIPT = `
const net = require('node:net');
const socks = new Map();
let next = 1;
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  const reply = (r) => process.stdout.write(JSON.stringify({ seq: cmd.seq, ...r }) + '\\n');
  if (cmd.op === 'connect') {
    const s = net.connect({ host: cmd.host, port: cmd.port });
    const id = next++;
    s.once('connect', () => {
      socks.set(id, s);
      s.on('error', (e) => process.stdout.write(JSON.stringify({ event: 'error', id, code: e.code }) + '\\n'));
      reply({ ok: true, id, localPort: s.localPort });
    });
    s.once('error', (e) => { if (!socks.has(id)) reply({ ok: false, code: e.code }); });
  } else if (cmd.op === 'send') {
    socks.get(cmd.id).write(cmd.data, (e) => reply(e ? { ok: false, code: e.code } : { ok: true }));
  } else if (cmd.op === 'listen') {
    // a peer inside the probe's own network namespace: accepts and reads
    const server = net.createServer((s) => { s.on('error', () => {}); s.resume(); });
    server.listen(0, cmd.host, () => reply({ ok: true, port: server.address().port }));
  }
});
`;

export interface ConnectResult {
  ok: boolean;
  id?: number;
  localPort?: number;
  /** the port a `listen` opened */
  port?: number;
  code?: string;
}

/** An error a probe's open socket reported on its own (a reset, an abort). */
export interface SocketError {
  id: number;
  code: string;
}

/** A real process whose connects and writes the test drives. */
export class Probe {
  private seq = 0;
  private readonly pending = new Map<number, (r: ConnectResult) => void>();
  private readonly errorWaiters: ((e: SocketError) => void)[] = [];
  /** Socket errors reported so far, in order. */
  readonly errors: SocketError[] = [];

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as ConnectResult & SocketError & { seq?: number; event?: string };
      if (r.event === 'error') {
        this.errors.push({ id: r.id, code: r.code });
        for (const w of this.errorWaiters.splice(0)) w({ id: r.id, code: r.code });
        return;
      }
      this.pending.get(r.seq!)?.(r);
      this.pending.delete(r.seq!);
    });
  }

  /** Resolves with the next socket error (or one already reported and not yet taken). */
  nextError(): Promise<SocketError> {
    return new Promise((resolve) => this.errorWaiters.push(resolve));
  }

  /**
   * Starts a probe, moved into `cgroupDir` (when given) before it does anything;
   * with `netns`, in a network namespace of its own (unshare(1), loopback up),
   * as a pod runs.
   */
  static start(cgroupDir: string | null, opts: { netns?: boolean } = {}): Probe {
    const child = opts.netns
      ? spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" -e "$1"', process.execPath, PROBE_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn(process.execPath, ['-e', PROBE_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    if (cgroupDir) writeFileSync(`${cgroupDir}/cgroup.procs`, String(child.pid));
    return new Probe(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  private call(cmd: Record<string, unknown>): Promise<ConnectResult> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve);
      this.child.stdin!.write(JSON.stringify({ ...cmd, seq }) + '\n');
    });
  }

  connect(host: string, port: number): Promise<ConnectResult> {
    return this.call({ op: 'connect', host, port });
  }

  send(id: number, data: string): Promise<ConnectResult> {
    return this.call({ op: 'send', id, data });
  }

  /** A listener inside the probe (in its network namespace, when it has its own). */
  listen(host: string): Promise<ConnectResult> {
    return this.call({ op: 'listen', host });
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Creates cgroup v2 directories under a fresh `higgs-test-<random>` parent. */
export function makeCgroups(root: string, names: string[]): { base: string; dirs: Record<string, string>; remove(): void } {
  const base = `${root}/higgs-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(base);
  const dirs = Object.fromEntries(names.map((n) => [n, `${base}/${n}`]));
  for (const dir of Object.values(dirs)) mkdirSync(dir);
  return {
    base,
    dirs,
    // a cgroup can be removed only once its processes have exited
    remove() {
      for (const dir of Object.values(dirs)) rmdirSync(dir);
      rmdirSync(base);
    },
  };
}
