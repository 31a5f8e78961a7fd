import type { PathType, Route } from '../../api/types';

/** The values of the route form; names follow the API's field paths. */
export interface RouteFormValues {
  name: string;
  domains: string[];
  path: { type: PathType; value: string };
  methods: string[];
  headers: { name?: string; value?: string }[];
  service: string | undefined;
  priority: number | null;
  enabled: boolean;
}

/** The methods offered in the form; others can be typed. */
export const commonMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** emptyRoute is what the form starts from when creating. */
export function emptyRoute(service?: string): RouteFormValues {
  return {
    name: '',
    domains: [],
    path: { type: 'prefix', value: '/' },
    methods: [],
    headers: [],
    service,
    priority: 0,
    enabled: true,
  };
}

/** routeToForm fills the form from a stored route. */
export function routeToForm(r: Route): RouteFormValues {
  return {
    name: r.name,
    domains: r.domains ?? [],
    path: { type: r.path.type, value: r.path.value },
    methods: r.methods ?? [],
    headers: (r.headers ?? []).map((h) => ({ name: h.name, value: h.value })),
    service: r.service,
    priority: r.priority ?? 0,
    enabled: r.enabled ?? true,
  };
}

/**
 * formToRoute builds the API object from the form, leaving empty lists and
 * a zero priority out; `version` is the one read.
 */
export function formToRoute(v: RouteFormValues, version?: number): Route {
  const r: Route = {
    name: v.name.trim(),
    path: { type: v.path.type, value: v.path.value.trim() },
    service: v.service ?? '',
    enabled: v.enabled,
  };
  const domains = v.domains.map((d) => d.trim()).filter((d) => d !== '');
  if (domains.length > 0) r.domains = domains;
  if (v.methods.length > 0) r.methods = v.methods.map((m) => m.trim());
  const headers = v.headers.filter((h) => (h.name ?? '').trim() !== '' || (h.value ?? '') !== '');
  if (headers.length > 0)
    r.headers = headers.map((h) => ({ name: (h.name ?? '').trim(), value: h.value ?? '' }));
  if (v.priority !== null && v.priority !== 0) r.priority = v.priority;
  if (version !== undefined && version > 0) r.version = version;
  return r;
}

/**
 * routeExample is the URL path a request could use to reach the route, for
 * "try it" hints: the path itself for exact and prefix matches; undefined
 * for regular expressions.
 */
export function routeExample(r: Pick<Route, 'path'>): string | undefined {
  return r.path.type === 'regex' ? undefined : r.path.value;
}
