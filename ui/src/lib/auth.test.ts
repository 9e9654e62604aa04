import { describe, expect, it } from 'vitest';
import { clearToken, loadToken, takeTokenFromHash } from './auth.ts';

function fakeWindow(href: string) {
  const url = new URL(href);
  const store = new Map<string, string>();
  const replaced: string[] = [];
  const win = {
    location: url as unknown as Location,
    history: {
      state: null,
      replaceState: (_state: unknown, _unused: string, next: string) => {
        replaced.push(next);
        const parsed = new URL(next, url);
        url.hash = parsed.hash;
      },
    } as unknown as History,
    sessionStorage: {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    } as unknown as Storage,
  };
  return { win, replaced, url };
}

describe('takeTokenFromHash', () => {
  it('takes the token and keeps the rest of the hash', () => {
    expect(takeTokenFromHash('#token=abc&view=rules')).toEqual({ token: 'abc', rest: '#view=rules' });
    expect(takeTokenFromHash('#token=abc')).toEqual({ token: 'abc', rest: '' });
    expect(takeTokenFromHash('')).toEqual({ token: null, rest: '' });
    expect(takeTokenFromHash('#token=')).toEqual({ token: null, rest: '' });
  });
});

describe('loadToken', () => {
  it('keeps the launcher token for the tab and strips it from the address bar', () => {
    const { win, replaced, url } = fakeWindow('http://127.0.0.1:7070/?x=1#token=secret-tok');
    expect(loadToken(win)).toBe('secret-tok');
    expect(replaced).toEqual(['/?x=1']);
    expect(url.href).not.toContain('secret-tok');
    // a reload of the stripped URL still finds it, until it is cleared
    expect(loadToken(win)).toBe('secret-tok');
    clearToken(win);
    expect(loadToken(win)).toBeNull();
  });
});
