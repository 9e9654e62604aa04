import { describe, expect, it } from 'vitest';
import { detectPii, luhnValid } from './pii.ts';

const types = (text: string) => detectPii(text).map((s) => [s.type, text.slice(s.start, s.end)]);

describe('detectPii', () => {
  it('finds e-mail addresses and canonicalises them to lower case', () => {
    const spans = detectPii('Contact Jane.Doe+ops@Example.co.uk today');
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ type: 'email', canonical: 'jane.doe+ops@example.co.uk' });
  });

  it('finds dashed SSNs anywhere and undashed SSNs only after an SSN cue', () => {
    expect(types('record 123-45-6789 on file')).toEqual([['ssn', '123-45-6789']]);
    expect(types('my SSN is 123456789')).toEqual([['ssn', '123456789']]);
    expect(types('social security number: 123 45 6789')).toEqual([['ssn', '123 45 6789']]);
    expect(types('order number 123456789')).toEqual([]);
  });

  it('rejects SSNs the SSA never issues', () => {
    for (const bad of ['000-12-3456', '666-12-3456', '901-12-3456', '123-00-4567', '123-45-0000']) {
      expect(types(`ssn ${bad}`)).toEqual([]);
    }
  });

  it('finds Luhn-valid card numbers in common groupings and ignores Luhn failures', () => {
    expect(types('card 4111 1111 1111 1111 exp 12/29')).toEqual([['credit_card', '4111 1111 1111 1111']]);
    expect(types('card 5555-5555-5555-4444')).toEqual([['credit_card', '5555-5555-5555-4444']]);
    expect(types('amex 378282246310005')).toEqual([['credit_card', '378282246310005']]);
    expect(types('card 4111111111111112')).toEqual([]);
    expect(types('tracking 1234567812345670')).toEqual([]); // Luhn-valid but no card network starts with 1
  });

  it('finds formatted NANP and international phone numbers but not bare digit runs', () => {
    expect(types('call (415) 555-0132 or 415.555.0199')).toEqual([['phone', '(415) 555-0132'], ['phone', '415.555.0199']]);
    expect(types('call +1 415 555 0132')).toEqual([['phone', '+1 415 555 0132']]);
    expect(types('London +44 20 7946 0958')).toEqual([['phone', '+44 20 7946 0958']]);
    expect(types('id 4155550132')).toEqual([]);
    expect(types('area code 123-555-0132')).toEqual([]); // NANP area codes start 2–9
  });

  it('reports overlapping claims once, most specific first', () => {
    const spans = detectPii('ssn 123-45-6789, mail a@b.io, card 4111-1111-1111-1111');
    expect(spans.map((s) => s.type)).toEqual(['ssn', 'email', 'credit_card']);
  });
});

describe('luhnValid', () => {
  it('accepts valid and rejects altered numbers', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});

describe('detectPii: issue 3 types', () => {
  it('validates IBANs by country length and mod-97', () => {
    expect(types('wire to GB82 WEST 1234 5698 7654 32 today')).toEqual([['iban', 'GB82 WEST 1234 5698 7654 32']]);
    expect(types('from GB82WEST12345698765432 to other bank')).toEqual([['iban', 'GB82WEST12345698765432']]);
    expect(types('wire to GB82WEST12345698765433')).toEqual([]);
  });

  it('finds IPv4 and IPv6 addresses and rejects out-of-range octets', () => {
    expect(types('blocked from 41.176.181.243 and 3b20:9a3a:1b2f:7ce:9ef1:4787:85fc:261e')).toEqual([
      ['ip_address', '41.176.181.243'], ['ip_address', '3b20:9a3a:1b2f:7ce:9ef1:4787:85fc:261e'],
    ]);
    expect(types('version 300.1.2.3')).toEqual([]);
  });

  it('finds UK NINO and Spanish DNI only when the check letter fits', () => {
    expect(types('NI number AB 12 34 56 C')).toEqual([['national_id', 'AB 12 34 56 C']]);
    expect(types('DNI 12345678Z')).toEqual([['national_id', '12345678Z']]);
    expect(types('DNI 12345678A')).toEqual([]);
  });

  it('finds national-format phone numbers after a cue word', () => {
    expect(types("They're not answering at 78 651 450")).toEqual([['phone', '78 651 450']]);
    expect(types('Mobile: 03.93.92.16.85')).toEqual([['phone', '03.93.92.16.85']]);
  });

  it('finds street addresses and person names', () => {
    expect(types('Ship it to 2249 College Street, Grand Rapids, MI 49503 please')).toEqual([['address', '2249 College Street, Grand Rapids, MI 49503']]);
    expect(types('name,email\nBob Smith,bob.smith@example.org')).toEqual([['person', 'Bob Smith'], ['email', 'bob.smith@example.org']]);
    expect(types('Northwind Outfitters sells tents')).toEqual([]);
  });

  it('masks secrets as their own type with the kind kept', () => {
    expect(detectPii('key AKIAZ3MSJV4WPX2L6QYB')).toMatchObject([{ type: 'secret', kind: 'aws_access_key' }]);
  });
});
