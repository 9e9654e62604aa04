import { describe, expect, it } from 'vitest';
import { FAST_PATHS } from './hints.ts';
import './index.ts';

// what a test compares of a match: where it starts and every group
const shape = (ms: Iterable<RegExpExecArray | RegExpMatchArray>) => [...ms].map((m) => [m.index, ...m]);

// deterministic fuzz texts: fragments that sit at the edges of the candidate rules, spliced at random
function fuzzTexts(count: number, seed = 7): string[] {
  const fragments = ['+1 ', '+', '(', ')', '-', ' ', '.', ':', '/', 'X', 'Y', 'Z', 'GB', 'DE', 'AB 12 34 56 C', 'JG123456A', '12345678Z', 'X1234567L',
    '4111 1111 1111 1111', '5555-5555-5555-4444', '378282246310005', '123-45-6789', '123 45 6789', '123456789', '(415) 555-0132', '415.555.0199',
    '+44 20 7946 0958', '+1 (415) 555 0132', '082 490 1693-Office', '930.167.3943 fax', 'call ', 'Phone: ', 'TEL', 'reach us at ', 'text me ',
    'api_key = ', 'clientSecret: ', 'ACCESS-KEY=', 'PRIVATE_KEY ', 'Token', 'auth', '10.20.30.40', '256.1.1.1', '1.2.3.4.5', 'DE89 3704 0044 0532 0130 00',
    'GB82WEST12345698765432', '2249 College Street', '12 Elm St.', '20789 Allika 46', 'Grand Rapids', 'MI 49503', 'É', 'ß', 'İ', 'ſ', '\u212a', '\n', ',',
    '0', '1', '7', '42', '1234567', '12345678', '123456789012345', 'a', 'Jane', ' Street', 'Ave', 'Office', 'home', 'cell'];
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    let t = '';
    for (let k = 1 + Math.floor(rnd() * 14); k > 0; k--) t += fragments[Math.floor(rnd() * fragments.length)];
    texts.push(t);
  }
  return texts;
}

describe('fast paths (patterns run from candidate positions or behind a gate)', () => {
  it('are registered for the number patterns, the cue words and the address forms', () => {
    const names = FAST_PATHS.map((f) => f.name);
    for (const n of ['pii.card', 'pii.ssn_dashed', 'pii.nanp', 'pii.intl', 'pii.iban', 'pii.ipv4', 'pii.uk_nino', 'pii.es_id', 'pii.phone_cue', 'secrets.key_word']) {
      expect(names).toContain(n);
    }
    expect(names.filter((n) => n.startsWith('address.'))).toHaveLength(2);
  });

  it('find exactly what matchAll of the global pattern finds, on 2 000 fuzz texts', () => {
    for (const text of fuzzTexts(2_000)) {
      for (const f of FAST_PATHS) expect(shape(f.matches(text)), `${f.name}: ${JSON.stringify(text)}`).toEqual(shape(text.matchAll(f.global)));
    }
  }, 60_000);

  it('find matches that start right at the candidate boundaries', () => {
    const cases: Array<[string, string]> = [
      ['pii.card', '4111 1111 1111 1111'], ['pii.card', 'x4111-1111-1111-1111'], ['pii.nanp', '+1 (415) 555-0132'], ['pii.nanp', '(415) 555-0132'],
      ['pii.intl', '+44 20 7946 0958'], ['pii.iban', 'GB82WEST12345698765432'], ['pii.uk_nino', 'AB 12 34 56 C'], ['pii.uk_nino', 'xy JG123456A'],
      ['pii.es_id', 'X1234567L'], ['pii.es_id', '12345678Z'], ['pii.ipv4', '10.20.30.40'], ['pii.phone_cue', 'Call me at'], ['secrets.key_word', 'PRIVATE-KEY'],
      ['address.0', '20789 Allika 46'], ['address.3', '2249 College Street'],
    ];
    for (const [name, text] of cases) {
      const f = FAST_PATHS.find((p) => p.name === name)!;
      const found = f.matches(text);
      expect(found.length, `${name}: ${text}`).toBeGreaterThan(0);
      expect(shape(found)).toEqual(shape(text.matchAll(f.global)));
    }
  });
});
