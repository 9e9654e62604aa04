import { describe, expect, it } from 'vitest';
import { hashValue, redactText, scanText } from './index.ts';

describe('scanText', () => {
  it('masks every value as [TYPE:hash8] and never keeps the raw value', () => {
    const r = scanText('SSN 123-45-6789 and mail bob@example.com', 'prompt', 'salt-1');
    const ssnHash = hashValue('salt-1', '123456789');
    expect(r.masked).toBe(`SSN [SSN:${ssnHash.slice(0, 8)}] and mail [EMAIL:${hashValue('salt-1', 'bob@example.com').slice(0, 8)}]`);
    expect(r.masked).not.toContain('6789');
    expect(r.detections).toEqual([
      { type: 'ssn', field: 'prompt', hash: ssnHash },
      { type: 'email', field: 'prompt', hash: hashValue('salt-1', 'bob@example.com') },
    ]);
    expect(ssnHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('in the structured pass, finds the validated types exactly as the full pass and no names or addresses', () => {
    const text = 'Mail Maria Okonkwo at maria@example.com, 2249 College Street, card 4539 1488 0343 6467, ip 10.0.0.1 or fe80::1.';
    const full = scanText(text, 'prompt', 's');
    const structured = scanText(text, 'prompt', 's', { pass: 'structured' });
    expect(full.spans.map((s) => s.type)).toEqual(['person', 'email', 'address', 'credit_card', 'ip_address', 'ip_address']);
    expect(structured.spans).toEqual(full.spans.filter((s) => s.type !== 'person' && s.type !== 'address'));
    expect(structured.masked).toContain('Maria Okonkwo');
  });

  it('hashes with the salt, so another tenant salt gives another hash', () => {
    expect(hashValue('a', 'x')).not.toBe(hashValue('b', 'x'));
  });
});

describe('redactText', () => {
  it('replaces only the requested types', () => {
    const text = 'ssn 123-45-6789 mail bob@example.com';
    expect(redactText(text, new Set(['ssn']))).toBe('ssn [REDACTED:ssn] mail bob@example.com');
    expect(redactText(text, null)).toBe('ssn [REDACTED:ssn] mail [REDACTED:email]');
  });
});
