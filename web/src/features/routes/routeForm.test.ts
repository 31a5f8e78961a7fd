import { describe, expect, it } from 'vitest';
import { emptyRoute, formToRoute, routeToForm } from './routeForm';

describe('route form', () => {
  it('leaves empty lists, blank header rows and a zero priority out', () => {
    const v = {
      ...emptyRoute('echo'),
      name: ' echo ',
      path: { type: 'prefix' as const, value: '/echo ' },
      headers: [
        { name: '', value: '' },
        { name: 'x-canary ', value: 'true' },
      ],
    };
    expect(formToRoute(v)).toEqual({
      name: 'echo',
      path: { type: 'prefix', value: '/echo' },
      service: 'echo',
      enabled: true,
      headers: [{ name: 'x-canary', value: 'true' }],
    });
  });

  it('round-trips a stored route with its version', () => {
    const stored = {
      name: 'api',
      domains: ['api.example.com'],
      path: { type: 'regex' as const, value: '^/v[0-9]+/' },
      methods: ['GET', 'POST'],
      service: 'backend',
      priority: 5,
      enabled: false,
      version: 9,
    };
    expect(formToRoute(routeToForm(stored), stored.version)).toEqual(stored);
  });
});
