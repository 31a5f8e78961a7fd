import type { AllowancePeriod, Consumer } from '../../api/types';
import type { MessageKey } from '../../i18n/context';
import type { Problem } from '../../lib/validation';

/** The values of the consumer form. */
export interface ConsumerFormValues {
  name: string;
  /** One `key=value` per entry. */
  labels: string[];
  allowedModels: string[];
  allowedAiRoutes: string[];
  quotaTokens?: number | null;
  quotaPeriod: AllowancePeriod;
  budgetUsd?: number | null;
  budgetPeriod: AllowancePeriod;
}

export function emptyConsumer(): ConsumerFormValues {
  return {
    name: '',
    labels: [],
    allowedModels: [],
    allowedAiRoutes: [],
    quotaTokens: null,
    quotaPeriod: 'month',
    budgetUsd: null,
    budgetPeriod: 'month',
  };
}

export function consumerToForm(c: Consumer): ConsumerFormValues {
  return {
    name: c.name,
    labels: Object.entries(c.labels ?? {}).map(([k, v]) => `${k}=${v}`),
    allowedModels: c.allowedModels,
    allowedAiRoutes: c.allowedAiRoutes,
    quotaTokens: c.quota?.tokens ?? null,
    quotaPeriod: c.quota?.period ?? 'month',
    budgetUsd: c.budget?.usd ?? null,
    budgetPeriod: c.budget?.period ?? 'month',
  };
}

/**
 * formToConsumer builds the object to send. Stored keys are sent back by id
 * (the server keeps them); a new consumer is sent without keys so the server
 * generates one and shows it once.
 */
export function formToConsumer(v: ConsumerFormValues, stored?: Consumer): Consumer {
  const labels: Record<string, string> = {};
  for (const l of v.labels) {
    const i = l.indexOf('=');
    labels[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  const c: Consumer = {
    name: v.name.trim(),
    credentials: (stored?.credentials ?? []).map((cr) => ({
      id: cr.id,
      ...(cr.expiresAt ? { expiresAt: cr.expiresAt } : {}),
    })),
    allowedModels: v.allowedModels.map((m) => m.trim()).filter((m) => m !== ''),
    allowedAiRoutes: v.allowedAiRoutes,
    version: stored?.version,
  };
  if (Object.keys(labels).length > 0) c.labels = labels;
  if (v.quotaTokens != null) c.quota = { tokens: v.quotaTokens, period: v.quotaPeriod };
  if (v.budgetUsd != null) c.budget = { usd: v.budgetUsd, period: v.budgetPeriod };
  return c;
}

const labelKeyRE = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;

/** validateLabels checks `key=value` labels: a key, an "=", keys used once. */
export function validateLabels(values: readonly string[] | undefined): Problem | undefined {
  const seen = new Set<string>();
  for (const l of values ?? []) {
    const i = l.indexOf('=');
    const key = i < 0 ? '' : l.slice(0, i).trim();
    if (i < 0 || !labelKeyRE.test(key)) {
      return { key: 'ai.consumers.labelInvalid', vars: { label: l } };
    }
    if (seen.has(key)) return { key: 'ai.consumers.labelTwice', vars: { key } };
    seen.add(key);
  }
  return undefined;
}

/**
 * optionalAmount checks an optional amount: empty is fine; otherwise it must
 * be above 0 (and whole when `whole`), else `problem` is the answer.
 */
export function optionalAmount(
  v: number | null | undefined,
  whole: boolean,
  problem: MessageKey,
): Problem | undefined {
  if (v == null) return undefined;
  const ok = whole ? Number.isInteger(v) : Number.isFinite(v);
  return ok && v > 0 ? undefined : { key: problem };
}

/** validateQuotaTokens: empty means no quota; otherwise a whole number of tokens above 0. */
export function validateQuotaTokens(v: number | null | undefined): Problem | undefined {
  return optionalAmount(v, true, 'ai.consumers.quotaInvalid');
}

/** validateBudgetUsd: empty means no budget; otherwise dollars above 0. */
export function validateBudgetUsd(v: number | null | undefined): Problem | undefined {
  return optionalAmount(v, false, 'ai.consumers.budgetInvalid');
}

/** keyExpiry tells whether a key is expired at `now`, with its expiry date. */
export function keyExpired(expiresAt: string | undefined, now: number): boolean {
  return expiresAt !== undefined && Date.parse(expiresAt) <= now;
}

/** periodEnd is when a day or month allowance resets next (UTC), after `now`. */
export function periodEnd(period: AllowancePeriod, now: Date): Date {
  if (period === 'day') {
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  }
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}
