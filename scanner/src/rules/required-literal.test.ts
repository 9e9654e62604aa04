import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { requiredLiteral } from './required-literal.ts';

describe('requiredLiteral', () => {
  it('takes the longest plain run outside groups, classes and optional parts', () => {
    expect(requiredLiteral('(?i)ticket-\\d+ #\\d{3}')).toBe('ticket-');
    expect(requiredLiteral('sk-[A-Za-z0-9]{20,}')).toBe('sk-');
    expect(requiredLiteral('AKIA[0-9A-Z]{16}')).toBe('akia');
    expect(requiredLiteral('foo(bar)?bazz\\.com')).toBe('bazz.com');
    expect(requiredLiteral('abcx?yz')).toBe('abc');
    expect(requiredLiteral('abcd{0,2}e')).toBe('abc');
    expect(requiredLiteral('ab+cdef')).toBe('cdef');
  });

  it('gives up on alternations and short or absent literals', () => {
    expect(requiredLiteral('foo|barbaz')).toBeNull();
    expect(requiredLiteral('\\d{3}-\\d{2}-\\d{4}')).toBeNull();
    expect(requiredLiteral('(hello world)')).toBeNull();
    expect(requiredLiteral('a.b.c')).toBeNull();
  });

  it('only returns literals every match contains', () => {
    const cases: Array<[string, string[]]> = [
      ['(?i)ignore\\s+previous instructions', ['IGNORE   previous Instructions']],
      ['colou?r wheel', ['color wheel', 'colour wheel']],
      ['x[abc]yzw+q', ['xbyzwwwq']],
      ['api[_-]?key\\s*=\\s*\\w{8}', ['apikey=12345678', 'api_key = abcdefgh']],
    ];
    for (const [pattern, samples] of cases) {
      const lit = requiredLiteral(pattern);
      for (const s of samples) {
        expect(RE2JS.compile(pattern).test(s)).toBe(true);
        if (lit !== null) expect(s.toLowerCase()).toContain(lit);
      }
    }
  });
});
