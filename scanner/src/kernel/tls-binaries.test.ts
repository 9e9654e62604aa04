import { describe, expect, it } from 'vitest';
import { mappedLibssl, tlsBinariesOf } from './tls-binaries.ts';

describe('the TLS binaries of a workload process', () => {
  it('reads each mapped libssl once, by its path, and skips deleted files and anything else', () => {
    const maps = [
      '55d0c0a00000-55d0c0a28000 r--p 00000000 fd:01 1048620                    /usr/bin/python3.11',
      '7f1e2c000000-7f1e2c05b000 r--p 00000000 00:2f 2231                       /usr/lib/x86_64-linux-gnu/libssl.so.3',
      '7f1e2c05b000-7f1e2c0b8000 r-xp 0005b000 00:2f 2231                       /usr/lib/x86_64-linux-gnu/libssl.so.3',
      '7f1e2d000000-7f1e2d100000 r-xp 00000000 00:2f 2240                       /opt/app/lib/libssl.so.1.1',
      '7f1e2e000000-7f1e2e100000 r-xp 00000000 00:2f 2250                       /tmp/old/libssl.so.3 (deleted)',
      '7f1e2f000000-7f1e2f100000 r-xp 00000000 00:2f 2260                       /usr/lib/x86_64-linux-gnu/libcrypto.so.3',
      '7ffd5a3f1000-7ffd5a412000 rw-p 00000000 00:00 0                          [stack]',
    ].join('\n');
    expect(mappedLibssl(maps)).toEqual(['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/opt/app/lib/libssl.so.1.1']);
  });

  it('names a Node process\'s own executable (OpenSSL linked in) and nothing for a process that is gone', () => {
    // this test runs in node: no libssl mapped, its executable is the one to probe
    expect(tlsBinariesOf(process.pid)).toContain(`/proc/${process.pid}/exe`);
    expect(tlsBinariesOf(2 ** 22 + 1)).toEqual([]);
  });
});
