import { describe, expect, it } from 'vitest';
import { BpfErrorCode } from './errors.ts';
import { decodeEvent, decodeLpmKey, decodeSockKey, decodeTlsEvent, encodeLpmKey, encodeSockKey, formatCidr, LAYOUTS, parseCidr } from './layout.ts';

describe('provider CIDRs', () => {
  it('encode as LPM keys with host bits cleared and read back', () => {
    const cidr = parseCidr('104.18.7.9/16');
    expect(formatCidr(cidr)).toBe('104.18.0.0/16');
    const key = encodeLpmKey(cidr);
    expect([...key]).toEqual([16, 0, 0, 0, 104, 18, 0, 0]);
    expect(formatCidr(decodeLpmKey(key))).toBe('104.18.0.0/16');
  });

  it('take IPv6, compressed or with an IPv4 tail, and bare addresses as host prefixes', () => {
    expect(formatCidr(parseCidr('2606:4700:0:0:0:0:0:1/32'))).toBe('2606:4700::/32');
    expect(formatCidr(parseCidr('2001:db8::1'))).toBe('2001:db8::1/128');
    expect(formatCidr(parseCidr('::ffff:10.1.2.3'))).toBe('::ffff:a01:203/128');
    expect(encodeLpmKey(parseCidr('::1')).length).toBe(LAYOUTS.higgs_lpm_v6.size);
    expect(formatCidr(parseCidr('127.0.9.1'))).toBe('127.0.9.1/32');
  });

  it('reject what the kernel could not match', () => {
    for (const bad of ['api.openai.com', '10.0.0.0/33', '10.0.0.0/x', '::/129']) {
      expect(() => parseCidr(bad), bad).toThrow(expect.objectContaining({ code: BpfErrorCode.INVALID_ARGUMENT }));
    }
  });
});

describe('decodeEvent', () => {
  it('reads a ring-buffer record at the offsets of struct higgs_event', () => {
    const o = LAYOUTS.higgs_event.offsets;
    const b = Buffer.alloc(LAYOUTS.higgs_event.size);
    b.writeBigUInt64LE(123n, o.ts_ns);
    b.writeBigUInt64LE(4242n, o.cgroup_id);
    b.writeUInt32LE(1, o.kind);
    b.writeUInt32LE(77, o.pid);
    b.writeUInt32LE(78, o.tid);
    b.writeUInt16LE(10, o.family);
    b.writeUInt16LE(40000, o.sport);
    b.writeUInt16LE(443, o.dport);
    b.writeUInt8(7, o.oldstate);
    b.writeUInt8(2, o.newstate);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(b, o.daddr);
    b.write('python3', o.comm);
    expect(decodeEvent(b)).toEqual({
      kind: 'flow', tsNs: 123n, cgroupId: 4242n, pid: 77, tid: 78, comm: 'python3', family: 6,
      saddr: '::', daddr: '2001:db8::1', sport: 40000, dport: 443, oldState: 'CLOSE', newState: 'SYN_SENT',
    });
  });

  it('refuses a short record instead of reading garbage', () => {
    expect(() => decodeEvent(Buffer.alloc(10))).toThrow(expect.objectContaining({ code: BpfErrorCode.INVALID_ARGUMENT }));
  });
});

describe('socket tuples', () => {
  it('encode as session-kill keys and read back, v4 and v6', () => {
    const v4 = { local: { address: '10.0.0.5', port: 40123 }, remote: { address: '10.0.0.1', port: 8443 } };
    const key = encodeSockKey(v4);
    expect(key.length).toBe(LAYOUTS.higgs_sock_key.size);
    expect(key.readUInt16LE(LAYOUTS.higgs_sock_key.offsets.family)).toBe(2);
    expect(decodeSockKey(key)).toEqual(v4);
    const v6 = { local: { address: '::1', port: 1 }, remote: { address: '2001:db8::2', port: 443 } };
    expect(decodeSockKey(encodeSockKey(v6))).toEqual(v6);
  });

  it('refuse mixed families and prefixes', () => {
    expect(() => encodeSockKey({ local: { address: '10.0.0.5', port: 1 }, remote: { address: '::1', port: 2 } })).toThrow(
      expect.objectContaining({ code: BpfErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => encodeSockKey({ local: { address: '10.0.0.0/8', port: 1 }, remote: { address: '10.0.0.1', port: 2 } })).toThrow(
      expect.objectContaining({ code: BpfErrorCode.INVALID_ARGUMENT }),
    );
  });
});

describe('decodeTlsEvent', () => {
  it('reads the header and exactly the captured bytes of a variable-length record', () => {
    const o = LAYOUTS.higgs_tls_event.offsets;
    const body = Buffer.from('POST /v1/chat/completions HTTP/1.1\r\n');
    const b = Buffer.alloc(o.data + body.length);
    b.writeBigUInt64LE(0xdeadbeefn, o.ssl);
    b.writeUInt32LE(99, o.pid);
    b.writeUInt32LE(10_000, o.len);
    b.writeUInt32LE(body.length, o.captured);
    b.writeUInt8(0, o.direction);
    b.write('curl', o.comm);
    body.copy(b, o.data);
    expect(decodeTlsEvent(b)).toMatchObject({ ssl: 0xdeadbeefn, pid: 99, len: 10_000, comm: 'curl', direction: 'write', data: body });
    expect(decodeTlsEvent(b)).toMatchObject({ socket: null, cookie: null, tupleSource: null });
  });

  it('reads the socket tuple, cookie and how the kernel found them, v4 and v6', () => {
    const o = LAYOUTS.higgs_tls_event.offsets;
    const record = (tuple: { local: { address: string; port: number }; remote: { address: string; port: number } }, source: number) => {
      const b = Buffer.alloc(o.data + 4);
      b.writeUInt8(1, o.direction);
      b.writeUInt8(source, o.tuple);
      encodeSockKey(tuple).copy(b, o.sock);
      b.writeBigUInt64LE(4097n, o.cookie);
      b.writeUInt32LE(4, o.captured);
      b.write('HTTP', o.data);
      return b;
    };
    const v4 = { local: { address: '127.0.0.1', port: 40222 }, remote: { address: '127.0.0.1', port: 8443 } };
    expect(decodeTlsEvent(record(v4, 1))).toMatchObject({ direction: 'read', socket: v4, cookie: 4097n, tupleSource: 'socket', data: Buffer.from('HTTP') });
    const v6 = { local: { address: '::1', port: 51000 }, remote: { address: '2001:db8::7', port: 443 } };
    expect(decodeTlsEvent(record(v6, 2))).toMatchObject({ socket: v6, tupleSource: 'ssl' });
    expect(decodeTlsEvent(record(v6, 3)).tupleSource).toBe('thread');
  });

  it('never invents a tuple: an unknown source or family decodes as none', () => {
    const o = LAYOUTS.higgs_tls_event.offsets;
    const b = Buffer.alloc(o.data);
    b.writeUInt8(9, o.tuple);
    encodeSockKey({ local: { address: '10.0.0.1', port: 1 }, remote: { address: '10.0.0.2', port: 2 } }).copy(b, o.sock);
    expect(decodeTlsEvent(b)).toMatchObject({ socket: null, cookie: null, tupleSource: null });
    b.writeUInt8(1, o.tuple);
    b.writeUInt16LE(1, o.sock); // AF_UNIX
    expect(decodeTlsEvent(b).socket).toBeNull();
  });
});
