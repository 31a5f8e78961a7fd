import type { AIRoute, ModelMatchType } from '../../api/types';
import type { Problem } from '../../lib/validation';

/** One row of a model mapping: a requested model (or pattern) and the model sent instead. */
export interface MappingRow {
  from?: string;
  to?: string;
}

/** The values of the AI route form; names follow the API's field paths. */
export interface AIRouteFormValues {
  name: string;
  enabled: boolean;
  domains: string[];
  pathPrefix: string;
  upstreams: { provider?: string; weight?: number | null; modelMapping: MappingRow[] }[];
  modelPredicates: { matchType: ModelMatchType; matchValue?: string }[];
  authConfig: { enabled: boolean; allowedConsumers: string[] };
  fallbackConfig: {
    enabled: boolean;
    upstreams: { provider?: string; modelMapping: MappingRow[] }[];
    fallbackStrategy: 'SEQUENCE' | 'RANDOM';
    onStatus: string[];
  };
}

/** emptyAIRoute is what the form starts from when creating, with the first provider chosen. */
export function emptyAIRoute(firstProvider?: string): AIRouteFormValues {
  return {
    name: '',
    enabled: true,
    domains: [],
    pathPrefix: '/',
    upstreams: [{ provider: firstProvider, weight: 100, modelMapping: [] }],
    modelPredicates: [],
    authConfig: { enabled: false, allowedConsumers: [] },
    fallbackConfig: {
      enabled: false,
      upstreams: [],
      fallbackStrategy: 'SEQUENCE',
      onStatus: ['429', '5xx'],
    },
  };
}

/** mappingToRows lists a model mapping as rows, in the order stored. */
export function mappingToRows(m: Record<string, string> | undefined): MappingRow[] {
  return Object.entries(m ?? {}).map(([from, to]) => ({ from, to }));
}

/** rowsToMapping builds a model mapping from rows; rows without a requested model are left out. */
export function rowsToMapping(rows: readonly MappingRow[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const r of rows) {
    const from = (r.from ?? '').trim();
    if (from !== '') out[from] = (r.to ?? '').trim();
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** aiRouteToForm fills the form from a stored AI route. */
export function aiRouteToForm(r: AIRoute): AIRouteFormValues {
  const fb = r.fallbackConfig;
  return {
    name: r.name,
    enabled: r.enabled ?? true,
    domains: r.domains ?? [],
    pathPrefix: r.pathPrefix,
    upstreams: r.upstreams.map((u) => ({
      provider: u.provider,
      weight: u.weight ?? null,
      modelMapping: mappingToRows(u.modelMapping),
    })),
    modelPredicates: (r.modelPredicates ?? []).map((p) => ({ ...p })),
    authConfig: {
      enabled: r.authConfig?.enabled ?? false,
      allowedConsumers: r.authConfig?.allowedConsumers ?? [],
    },
    fallbackConfig: {
      enabled: fb?.enabled ?? false,
      upstreams: (fb?.upstreams ?? []).map((u) => ({
        provider: u.provider,
        modelMapping: mappingToRows(u.modelMapping),
      })),
      fallbackStrategy: fb?.fallbackStrategy ?? 'SEQUENCE',
      onStatus: fb?.onStatus ?? ['429', '5xx'],
    },
  };
}

/**
 * formToAIRoute builds the API object from the form: empty lists and
 * mappings are left out, fallback and auth only when enabled or already
 * configured, and `version` is the one read for the conflict check.
 */
export function formToAIRoute(v: AIRouteFormValues, version?: number): AIRoute {
  const r: AIRoute = {
    name: v.name.trim(),
    pathPrefix: v.pathPrefix.trim(),
    upstreams: v.upstreams.map((u) => {
      const out: AIRoute['upstreams'][number] = { provider: u.provider ?? '' };
      if (u.weight !== null && u.weight !== undefined) out.weight = u.weight;
      const m = rowsToMapping(u.modelMapping);
      if (m) out.modelMapping = m;
      return out;
    }),
    enabled: v.enabled,
  };
  const domains = v.domains.map((d) => d.trim()).filter((d) => d !== '');
  if (domains.length > 0) r.domains = domains;
  const predicates = v.modelPredicates
    .map((p) => ({ matchType: p.matchType, matchValue: (p.matchValue ?? '').trim() }))
    .filter((p) => p.matchValue !== '');
  if (predicates.length > 0) r.modelPredicates = predicates;
  const consumers = v.authConfig.allowedConsumers.map((c) => c.trim()).filter((c) => c !== '');
  if (v.authConfig.enabled || consumers.length > 0) {
    r.authConfig = { enabled: v.authConfig.enabled, allowedConsumers: consumers };
  }
  const fb = v.fallbackConfig;
  if (fb.enabled || fb.upstreams.length > 0) {
    r.fallbackConfig = {
      enabled: fb.enabled,
      upstreams: fb.upstreams.map((u) => {
        const out: { provider: string; modelMapping?: Record<string, string> } = {
          provider: u.provider ?? '',
        };
        const m = rowsToMapping(u.modelMapping);
        if (m) out.modelMapping = m;
        return out;
      }),
      fallbackStrategy: fb.fallbackStrategy,
      onStatus: fb.onStatus.map((s) => s.trim()).filter((s) => s !== ''),
    };
  }
  if (version !== undefined && version > 0) r.version = version;
  return r;
}

/** validatePathPrefix checks an AI route's path prefix: "/" or an absolute path without query. */
export function validatePathPrefix(value: string | undefined): Problem | undefined {
  const v = (value ?? '').trim();
  if (!v.startsWith('/') || /[\s?#]/.test(v) || v.includes('//')) {
    return { key: 'ai.routes.pathPrefixInvalid' };
  }
  return undefined;
}

/** validateStatuses checks fallback statuses: three-digit codes or a class such as 5xx. */
export function validateStatuses(values: readonly string[] | undefined): Problem | undefined {
  const bad = (values ?? []).some((s) => !/^([1-5]\d\d|[1-5]xx)$/.test(s.trim()));
  return bad ? { key: 'ai.routes.onStatusInvalid' } : undefined;
}

/** The sum the weights of an AI route's providers must reach. */
export const weightTotal = 100;

/** validateAIWeight checks one provider's weight: empty, or 0 to 100. */
export function validateAIWeight(w: number | null | undefined): Problem | undefined {
  if (w === null || w === undefined) return undefined;
  return Number.isInteger(w) && w >= 0 && w <= weightTotal
    ? undefined
    : { key: 'ai.routes.weightRange' };
}

/**
 * validateWeights checks that the weights add up to 100; a single provider
 * may leave its weight empty or 0 (it gets every request).
 */
export function validateWeights(
  upstreams: readonly { weight?: number | null }[] | undefined,
): Problem | undefined {
  const list = upstreams ?? [];
  if (list.length === 0) return { key: 'ai.routes.upstreamsRequired' };
  if (list.length === 1 && !list[0]?.weight) return undefined;
  const sum = list.reduce((n, u) => n + (u.weight ?? 0), 0);
  return sum === weightTotal ? undefined : { key: 'ai.routes.weightsSum', vars: { sum } };
}

/** routesUsing names the AI routes that send to a provider, as upstream or fallback. */
export function routesUsing(routes: readonly AIRoute[], provider: string): string[] {
  return routes
    .filter(
      (r) =>
        r.upstreams.some((u) => u.provider === provider) ||
        (r.fallbackConfig?.upstreams ?? []).some((u) => u.provider === provider),
    )
    .map((r) => r.name);
}

/**
 * suggestedModel is a model name a client may ask this route for: an exact
 * model predicate, else a mapped model name that is not a pattern, else
 * what the first mapping sends for "*", else "gpt-4o-mini".
 */
export function suggestedModel(r: AIRoute): string {
  const exact = (r.modelPredicates ?? []).find((p) => p.matchType === 'EQUAL');
  if (exact) return exact.matchValue;
  for (const u of r.upstreams) {
    const named = Object.keys(u.modelMapping ?? {}).find((k) => k !== '' && !k.includes('*'));
    if (named !== undefined && !named.startsWith('~')) return named;
  }
  const prefix = (r.modelPredicates ?? []).find((p) => p.matchType === 'PRE');
  if (prefix) return prefix.matchValue;
  return 'gpt-4o-mini';
}
