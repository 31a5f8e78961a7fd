import type { Problem } from './validation';

// Client-side checks of services, routes, plugin instances and MCP servers
// that mirror server/internal/spec/validate.go, so that most mistakes are
// explained in place before a round trip. The API stays the authority: its
// field errors are shown under the same fields.

/** The longest object name (a DNS label). */
export const maxNameLength = 63;
/** The most retries a service may have. */
export const maxRetries = 10;
/** The largest endpoint weight. */
export const maxWeight = 10000;

const nameRE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const mcpNameRE = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const tokenRE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** validateName checks the name of a service, route or plugin instance (a DNS label). */
export function validateName(value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (v === '') return { key: 'validation.nameRequired' };
  if (v.length > maxNameLength) {
    return { key: 'validation.nameTooLong', vars: { n: v.length, max: maxNameLength } };
  }
  if (!nameRE.test(v)) return { key: 'validation.nameInvalid' };
  return undefined;
}

/** validateMCPServerName checks an MCP server name: also allows '.' and '_'. */
export function validateMCPServerName(value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (v === '') return { key: 'validation.nameRequired' };
  if (!mcpNameRE.test(v)) return { key: 'validation.mcpNameInvalid' };
  return undefined;
}

/** validateEndpointURL checks an upstream base URL: http(s), a host, no credentials, query or fragment. */
export function validateEndpointURL(value: string | undefined): Problem | undefined {
  const v = (value ?? '').trim();
  if (v === '') return { key: 'validation.urlRequired' };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(v)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return { key: 'validation.urlScheme' };
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return { key: 'validation.urlInvalid' };
  }
  if (u.hostname === '') return { key: 'validation.urlInvalid' };
  if (u.username !== '' || u.password !== '') return { key: 'validation.urlCredentials' };
  if (u.search !== '' || u.hash !== '' || v.includes('?') || v.includes('#')) {
    return { key: 'validation.urlQuery' };
  }
  return undefined;
}

/** validateWeight checks an endpoint weight: empty, or 0 to 10000. */
export function validateWeight(value: number | null | undefined): Problem | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > maxWeight) {
    return { key: 'validation.weightRange', vars: { max: maxWeight } };
  }
  return undefined;
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * parseDuration reads a Go duration ("30s", "1m30s", "500ms", "1.5h") into
 * milliseconds, or undefined when Go's time.ParseDuration would refuse it.
 */
export function parseDuration(value: string): number | undefined {
  let s = value;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m?.[1] || !m[2]) return undefined;
    total += Number(m[1]) * (durationUnits[m[2]] ?? 0);
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** formatMs renders milliseconds as a short Go duration for messages. */
function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * validateDuration checks an optional Go duration within [minMs, maxMs];
 * empty means the default and is fine.
 */
export function validateDuration(
  value: string | undefined,
  minMs: number,
  maxMs: number,
): Problem | undefined {
  const v = (value ?? '').trim();
  if (v === '') return undefined;
  const ms = parseDuration(v);
  if (ms === undefined) return { key: 'validation.durationInvalid' };
  if (ms < minMs || ms > maxMs) {
    return {
      key: 'validation.durationRange',
      vars: { min: formatMs(minMs), max: formatMs(maxMs) },
    };
  }
  return undefined;
}

/** validateRetries checks a service's retries: 0 to 10. */
export function validateRetries(value: number | null | undefined): Problem | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > maxRetries) {
    return { key: 'validation.retriesRange', vars: { max: maxRetries } };
  }
  return undefined;
}

/** validateThreshold checks a health check threshold: empty, or 1 to 100. */
export function validateThreshold(value: number | null | undefined): Problem | undefined {
  if (value === null || value === undefined || value === 0) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > 100) {
    return { key: 'validation.thresholdRange' };
  }
  return undefined;
}

/** validateHealthPath checks an active health check path. */
export function validateHealthPath(value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (!v.startsWith('/') || /[ #]/.test(v)) return { key: 'validation.healthPath' };
  return undefined;
}

/** validateHeaderToken checks a header or cookie name (an HTTP token). */
export function validateHeaderToken(value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (v === '') return { key: 'validation.headerNameRequired' };
  if (!tokenRE.test(v)) return { key: 'validation.headerNameInvalid' };
  return undefined;
}

/**
 * validateDomain checks a route or scope domain: a lowercase host name or
 * a leading-wildcard "*.example.com", without a port.
 */
export function validateDomain(value: string | undefined): Problem | undefined {
  const d = value ?? '';
  if (d === '') return { key: 'validation.domainRequired' };
  if (d === '*') return { key: 'validation.domainStar' };
  if (d.includes(':')) return { key: 'validation.domainPort' };
  if (d.toLowerCase() !== d)
    return { key: 'validation.domainCase', vars: { lower: d.toLowerCase() } };
  const host = d.startsWith('*.') ? d.slice(2) : d;
  if (host.includes('*')) return { key: 'validation.domainWildcard' };
  if (host.length > 253) return { key: 'validation.domainInvalid' };
  const labelOK = (l: string) =>
    l !== '' && l.length <= 63 && /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/.test(l);
  if (!host.split('.').every(labelOK)) return { key: 'validation.domainInvalid' };
  return undefined;
}

/** validateDomains checks every domain of a list and that none repeats. */
export function validateDomains(values: readonly string[] | undefined): Problem | undefined {
  const seen = new Set<string>();
  for (const d of values ?? []) {
    const p = validateDomain(d);
    if (p) return { key: p.key, vars: { ...p.vars, domain: d } };
    if (seen.has(d)) return { key: 'validation.domainTwice', vars: { domain: d } };
    seen.add(d);
  }
  return undefined;
}

/**
 * cleanPath returns the canonical form of a request path, as the gateway
 * matches it: '.' and '..' resolved, repeated '/' merged, a trailing '/'
 * kept (spec.CleanPath).
 */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  if (p.startsWith('/') && !p.includes('//') && !p.includes('/.')) return p;
  const trailing = p.endsWith('/') || p.endsWith('/.') || p.endsWith('/..');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let s = `/${out.join('/')}`;
  if (trailing && s !== '/') s += '/';
  return s;
}

/** validateRoutePath checks a route's path value for its match type. */
export function validateRoutePath(type: string, value: string | undefined): Problem | undefined {
  const v = value ?? '';
  if (type === 'regex') {
    return v === '' ? { key: 'validation.regexRequired' } : undefined;
  }
  if (!v.startsWith('/')) return { key: 'validation.pathSlash' };
  if (/[?#\s]/.test(v)) return { key: 'validation.pathChars' };
  const clean = cleanPath(v);
  if (clean !== v) return { key: 'validation.pathCanonical', vars: { clean } };
  return undefined;
}

/** validateMethods checks HTTP methods: tokens, upper case, each once. */
export function validateMethods(values: readonly string[] | undefined): Problem | undefined {
  const seen = new Set<string>();
  for (const m of values ?? []) {
    if (!tokenRE.test(m)) return { key: 'validation.methodInvalid', vars: { method: m } };
    if (m.toUpperCase() !== m) {
      return { key: 'validation.methodCase', vars: { method: m.toUpperCase() } };
    }
    if (seen.has(m)) return { key: 'validation.methodTwice', vars: { method: m } };
    seen.add(m);
  }
  return undefined;
}

/** validateHeaderMatchName checks the name of a route header match. */
export function validateHeaderMatchName(value: string | undefined): Problem | undefined {
  const p = validateHeaderToken(value);
  if (p) return p;
  if ((value ?? '').toLowerCase() === 'host') return { key: 'validation.headerHost' };
  return undefined;
}

/** validateHeaderValue refuses line breaks and NUL in a header value. */
export function validateHeaderValue(value: string | undefined): Problem | undefined {
  return /[\r\n\0]/.test(value ?? '') ? { key: 'validation.headerValue' } : undefined;
}

/** validateRedisAddress checks a host:port of a Redis node. */
export function validateRedisAddress(value: string | undefined): Problem | undefined {
  const v = (value ?? '').trim();
  if (v === '') return { key: 'validation.addressRequired' };
  if (v.includes('://')) return { key: 'validation.addressURL', vars: { address: v } };
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    return { key: 'validation.addressInvalid', vars: { address: v } };
  return undefined;
}
