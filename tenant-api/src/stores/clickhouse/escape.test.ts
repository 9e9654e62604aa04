import { describe, expect, it } from 'vitest';
import { TenantError } from '../../errors.ts';
import { bindParams, literal } from './escape.ts';

describe('literal', () => {
  it('keeps a hostile string inside one quoted literal', () => {
    expect(literal("x' OR 1=1 --")).toBe("'x\\' OR 1=1 --'");
    expect(literal('a\\')).toBe("'a\\\\'");
    expect(literal('nul\0')).toBe("'nul\\0'");
    expect(literal('\ud800')).toBe("'\uFFFD'");
  });

  it('writes numbers, booleans, null and arrays', () => {
    expect(literal(12)).toBe('12');
    expect(literal(-0.5)).toBe('-0.5');
    expect(literal(true)).toBe('1');
    expect(literal(null)).toBe('NULL');
    expect(literal(['a', 1, null])).toBe("['a', 1, NULL]");
  });

  it('refuses a number ClickHouse could not read back', () => {
    expect(() => literal(Number.NaN)).toThrow(TenantError);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(expect.objectContaining({ code: 'STORE_FAILED' }));
  });
});

describe('bindParams', () => {
  it('binds each placeholder once, never re-scanning a bound value', () => {
    expect(bindParams('SELECT {a}, {b}, {a}', { a: '{b}', b: 2 })).toBe("SELECT '{b}', 2, '{b}'");
  });

  it('throws on a placeholder without a value and on a value without a placeholder', () => {
    expect(() => bindParams('SELECT {a}', {})).toThrow(expect.objectContaining({ code: 'STORE_FAILED' }));
    expect(() => bindParams('SELECT 1', { a: 1 })).toThrow(expect.objectContaining({ code: 'STORE_FAILED' }));
  });
});
