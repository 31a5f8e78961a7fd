/** Where people sign in; `next` brings them back to where they were. */
export function loginPath(from: { pathname: string; search: string }, expired = false): string {
  const params = new URLSearchParams();
  const next = from.pathname + from.search;
  if (next !== '/' && next !== '') params.set('next', next);
  if (expired) params.set('expired', '1');
  const s = params.toString();
  return s === '' ? '/login' : `/login?${s}`;
}

/**
 * safeNext returns the in-console path to go to after signing in, refusing
 * anything that would leave the console (open redirects).
 */
export function safeNext(next: string | null): string {
  if (next === null || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
    return '/';
  }
  if (next.startsWith('/login') || next.startsWith('/setup')) return '/';
  return next;
}
