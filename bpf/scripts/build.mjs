/* global process, console */
// Builds the BPF objects and the N-API addon. Run at `npm install` and by
// `npm run build -w @higgs/bpf`. It never fails the install: when clang,
// bpftool, libbpf-dev or kernel BTF are missing it writes the reason to
// build/unavailable.txt, and the TypeScript API reports "unavailable: <reason>".
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'build');
const unavailableFile = join(build, 'unavailable.txt');

function which(cmd) {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin']) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

function nodeGyp() {
  // npm sets npm_config_node_gyp for scripts it runs; otherwise use the copy bundled with npm
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return existsSync(bundled) ? bundled : null;
}

function missing() {
  const reasons = [];
  if (!which('clang')) reasons.push('clang not found (apt-get install clang llvm)');
  if (!which('bpftool')) reasons.push('bpftool not found (apt-get install bpftool)');
  if (!existsSync('/usr/include/bpf/libbpf.h')) reasons.push('libbpf headers not found (apt-get install libbpf-dev)');
  if (!existsSync('/sys/kernel/btf/vmlinux')) reasons.push('kernel BTF /sys/kernel/btf/vmlinux not found (CONFIG_DEBUG_INFO_BTF=y)');
  if (!nodeGyp()) reasons.push('node-gyp not found');
  return reasons;
}

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

const started = Date.now();
const reasons = missing();
if (reasons.length > 0) {
  mkdirSync(build, { recursive: true });
  writeFileSync(unavailableFile, reasons.join('; ') + '\n');
  console.warn(`@higgs/bpf: kernel primitives unavailable: ${reasons.join('; ')}`);
  process.exit(0);
}
try {
  // node-gyp rebuild empties build/, so it goes first; headers come from the local
  // Node installation (no download: the machines have no network)
  const nodedir = resolve(dirname(process.execPath), '..');
  const gypArgs = [nodeGyp(), 'rebuild', '--silent'];
  if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${nodedir}`);
  run(process.execPath, gypArgs);
  const inc = join(build, 'include');
  mkdirSync(inc, { recursive: true });
  const vmlinux = execFileSync(which('bpftool'), ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 1 << 30 });
  writeFileSync(join(inc, 'vmlinux.h'), vmlinux);
  const arch = { x64: 'x86', arm64: 'arm64' }[process.arch] ?? process.arch;
  for (const file of readdirSync(join(root, 'src')).filter((f) => f.endsWith('.bpf.c'))) {
    const out = join(build, file.replace(/\.c$/, '.o'));
    run(which('clang'), ['-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-Wall', '-Werror', `-I${inc}`, `-I${join(root, 'src')}`, '-c', join('src', file), '-o', out]);
  }
  rmSync(unavailableFile, { force: true });
  console.log(`@higgs/bpf: built in ${Date.now() - started} ms`);
} catch (err) {
  mkdirSync(build, { recursive: true });
  writeFileSync(unavailableFile, `build failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  console.warn(`@higgs/bpf: build failed, kernel primitives unavailable (${err instanceof Error ? err.message : String(err)})`);
}
