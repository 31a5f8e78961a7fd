import { describe, expect, it } from 'vitest';
import { emptyService, formToService, serviceToForm } from './serviceForm';

describe('service form', () => {
  it('sends hashOn only with consistent-hash and no name for client addresses', () => {
    const base = { ...emptyService(), name: 'svc', endpoints: [{ url: 'http://a.test' }] };
    expect(
      formToService({ ...base, loadBalancer: 'round-robin', hashOn: { type: 'header', name: 'x' } })
        .hashOn,
    ).toBeUndefined();
    expect(
      formToService({
        ...base,
        loadBalancer: 'consistent-hash',
        hashOn: { type: 'client-address', name: 'x' },
      }).hashOn,
    ).toEqual({ type: 'client-address' });
  });

  it('sends the health check only when enabled, without empty fields', () => {
    const base = {
      ...emptyService(),
      name: 'svc',
      endpoints: [{ url: 'http://a.test', weight: 3 }],
    };
    const off = formToService({ ...base, healthCheck: { path: '/healthz' } });
    expect(off.healthCheck).toBeUndefined();
    const on = formToService({
      ...base,
      healthCheckEnabled: true,
      healthCheck: {
        path: '/healthz',
        interval: '',
        healthyThreshold: null,
        unhealthyThreshold: 4,
      },
    });
    expect(on.healthCheck).toEqual({ path: '/healthz', unhealthyThreshold: 4 });
    expect(on.endpoints).toEqual([{ url: 'http://a.test', weight: 3 }]);
  });

  it('round-trips a stored service with its version', () => {
    const stored = {
      name: 'svc',
      endpoints: [{ url: 'http://a.test', weight: 2 }],
      loadBalancer: 'consistent-hash' as const,
      hashOn: { type: 'cookie' as const, name: 'sid' },
      timeout: '10s',
      retries: 2,
      healthCheck: {
        path: '/h',
        interval: '5s',
        timeout: '1s',
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      version: 4,
    };
    expect(formToService(serviceToForm(stored), 4)).toEqual(stored);
  });
});
