/**
 * The admin token arrives once in the launcher URL (`/#token=…`), is kept in
 * sessionStorage for the tab's life, and is removed from the address bar so it
 * is not bookmarked, shared in a screenshot or kept in history.
 */
const STORAGE_KEY = 'higgs.token';

/** Splits `#token=abc&x=1` into the token and the hash that remains (`#x=1`, or '' when nothing does). */
export function takeTokenFromHash(hash: string): { token: string | null; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  params.delete('token');
  const rest = params.toString();
  return { token: token && token.trim() !== '' ? token.trim() : null, rest: rest === '' ? '' : `#${rest}` };
}

type AuthWindow = Pick<Window, 'location' | 'history' | 'sessionStorage'>;

/** Reads the token from the URL (stripping it) or, failing that, from sessionStorage. */
export function loadToken(win: AuthWindow = window): string | null {
  const { token, rest } = takeTokenFromHash(win.location.hash);
  if (token !== null) {
    win.sessionStorage.setItem(STORAGE_KEY, token);
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}${rest}`);
    return token;
  }
  return win.sessionStorage.getItem(STORAGE_KEY);
}

/** Forgets a token the tenant rejected. */
export function clearToken(win: Pick<Window, 'sessionStorage'> = window): void {
  win.sessionStorage.removeItem(STORAGE_KEY);
}
