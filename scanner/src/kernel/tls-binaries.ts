import { readFileSync, readlinkSync } from 'node:fs';

/** A mapped file the TLS uprobes should probe: a libssl, by its path inside the process's own root. */
const LIBSSL = /\/libssl\.so(\.\d+)*$/;
/** Executables with OpenSSL linked in statically (Node): probed through /proc/PID/exe. */
const STATIC_OPENSSL_EXE = /\/node(js)?$/;

/**
 * The OpenSSL-bearing binaries a process runs, as paths the scanner can open
 * from its own mount namespace: each libssl it maps, under /proc/PID/root
 * (a container's image holds its own copy, another file than the node's), and
 * its executable when that is a Node binary. Empty when the process is gone.
 */
export function tlsBinariesOf(pid: number): string[] {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return []; // exited, or not ours to read
  }
  const out = new Set<string>();
  for (const path of mappedLibssl(maps)) out.add(`/proc/${pid}/root${path}`);
  try {
    if (STATIC_OPENSSL_EXE.test(readlinkSync(`/proc/${pid}/exe`))) out.add(`/proc/${pid}/exe`);
  } catch {
    // exited meanwhile
  }
  return [...out];
}

/** The libssl paths in a /proc/PID/maps text (pathname is the sixth field; deleted files are skipped). */
export function mappedLibssl(maps: string): string[] {
  const out = new Set<string>();
  for (const line of maps.split('\n')) {
    const path = line.split(/\s+/).slice(5).join(' ');
    if (path.startsWith('/') && LIBSSL.test(path)) out.add(path);
  }
  return [...out];
}
