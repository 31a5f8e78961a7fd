import type { HashOnType, LoadBalancer, Service } from '../../api/types';

/** The values of the service form; names follow the API's field paths. */
export interface ServiceFormValues {
  name: string;
  endpoints: { url: string; weight?: number | null }[];
  loadBalancer: LoadBalancer;
  hashOn?: { type?: HashOnType; name?: string };
  timeout?: string;
  retries?: number | null;
  healthCheckEnabled: boolean;
  healthCheck?: {
    path?: string;
    interval?: string;
    timeout?: string;
    healthyThreshold?: number | null;
    unhealthyThreshold?: number | null;
  };
}

/** emptyService is what the form starts from when creating. */
export function emptyService(): ServiceFormValues {
  return {
    name: '',
    endpoints: [{ url: '' }],
    loadBalancer: 'round-robin',
    timeout: '30s',
    retries: 0,
    healthCheckEnabled: false,
  };
}

/** serviceToForm fills the form from a stored service. */
export function serviceToForm(s: Service): ServiceFormValues {
  return {
    name: s.name,
    endpoints: s.endpoints.map((e) => ({ url: e.url, weight: e.weight ?? null })),
    loadBalancer: s.loadBalancer ?? 'round-robin',
    hashOn: s.hashOn ? { type: s.hashOn.type, name: s.hashOn.name ?? '' } : undefined,
    timeout: s.timeout ?? '',
    retries: s.retries ?? 0,
    healthCheckEnabled: s.healthCheck !== undefined,
    healthCheck: s.healthCheck
      ? {
          path: s.healthCheck.path,
          interval: s.healthCheck.interval ?? '',
          timeout: s.healthCheck.timeout ?? '',
          healthyThreshold: s.healthCheck.healthyThreshold ?? null,
          unhealthyThreshold: s.healthCheck.unhealthyThreshold ?? null,
        }
      : undefined,
  };
}

function opt(s: string | undefined): string | undefined {
  const v = (s ?? '').trim();
  return v === '' ? undefined : v;
}

function optNumber(n: number | null | undefined): number | undefined {
  return n === null || n === undefined ? undefined : n;
}

/**
 * formToService builds the API object from the form: empty optional fields
 * are left out (the server's defaults apply), hashOn only with
 * consistent-hash, the health check only when enabled. `version` is the
 * one read, for the optimistic-concurrency check.
 */
export function formToService(v: ServiceFormValues, version?: number): Service {
  const s: Service = {
    name: v.name.trim(),
    endpoints: v.endpoints.map((e) => {
      const weight = optNumber(e.weight);
      return weight === undefined ? { url: e.url.trim() } : { url: e.url.trim(), weight };
    }),
    loadBalancer: v.loadBalancer,
  };
  if (v.loadBalancer === 'consistent-hash' && v.hashOn?.type) {
    s.hashOn =
      v.hashOn.type === 'client-address'
        ? { type: v.hashOn.type }
        : { type: v.hashOn.type, name: (v.hashOn.name ?? '').trim() };
  }
  const timeout = opt(v.timeout);
  if (timeout !== undefined) s.timeout = timeout;
  const retries = optNumber(v.retries);
  if (retries !== undefined) s.retries = retries;
  if (v.healthCheckEnabled) {
    const h = v.healthCheck ?? {};
    s.healthCheck = { path: (h.path ?? '').trim() };
    const interval = opt(h.interval);
    if (interval !== undefined) s.healthCheck.interval = interval;
    const hTimeout = opt(h.timeout);
    if (hTimeout !== undefined) s.healthCheck.timeout = hTimeout;
    const healthy = optNumber(h.healthyThreshold);
    if (healthy !== undefined) s.healthCheck.healthyThreshold = healthy;
    const unhealthy = optNumber(h.unhealthyThreshold);
    if (unhealthy !== undefined) s.healthCheck.unhealthyThreshold = unhealthy;
  }
  if (version !== undefined && version > 0) s.version = version;
  return s;
}
