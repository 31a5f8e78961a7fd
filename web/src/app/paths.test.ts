import { describe, expect, it } from 'vitest';
import { loginPath, safeNext } from './paths';

describe('login redirects', () => {
  it('remembers where the user was', () => {
    expect(loginPath({ pathname: '/logs', search: '?level=error' })).toBe(
      '/login?next=%2Flogs%3Flevel%3Derror',
    );
    expect(loginPath({ pathname: '/', search: '' })).toBe('/login');
    expect(loginPath({ pathname: '/plugins', search: '' }, true)).toBe(
      '/login?next=%2Fplugins&expired=1',
    );
  });

  it.each([
    ['/logs?level=error', '/logs?level=error'],
    [null, '/'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['/login?next=/x', '/'],
  ])('goes back to %j as %j', (next, want) => {
    expect(safeNext(next)).toBe(want);
  });
});
