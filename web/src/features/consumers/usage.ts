import type { AllowancePeriod, BudgetUsage, Consumer, QuotaUsage } from '../../api/types';
import type { Problem } from '../../lib/validation';
import { optionalAmount } from './consumerForm';

/** How much of an allowance is left: plenty, running low, or (nearly) none. */
export type AllowanceLevel = 'ok' | 'low' | 'out';

/** An allowance as a bar shows it: how much of it is used and how much is left. */
export interface AllowanceBar {
  /** The allowance of the period with its top-ups. */
  limit: number;
  used: number;
  remaining: number;
  /** 0..100, rounded down so a bar is never full before the allowance is spent. */
  percent: number;
  level: AllowanceLevel;
}

/** Used from this share of an allowance on, the bar says it runs low. */
export const lowShare = 0.75;
/** Used from this share on (or nothing left), the bar says it is out. */
export const outShare = 0.95;

/** allowanceBar places `used` against `limit`; `remaining` is the server's figure. */
export function allowanceBar(used: number, limit: number, remaining: number): AllowanceBar {
  const share = limit > 0 ? used / limit : 1;
  const level: AllowanceLevel =
    remaining <= 0 || share >= outShare ? 'out' : share >= lowShare ? 'low' : 'ok';
  return {
    limit,
    used,
    remaining: Math.max(0, remaining),
    percent: Math.min(100, Math.max(0, Math.floor(share * 100))),
    level,
  };
}

/** budgetBar is a budget's bar: spent against the budget plus its top-ups. */
export function budgetBar(b: BudgetUsage): AllowanceBar {
  return allowanceBar(b.spentUsd, b.usd + b.topUpUsd, b.remainingUsd);
}

/** quotaBar is a quota's bar: tokens used against the quota plus its top-ups. */
export function quotaBar(q: QuotaUsage): AllowanceBar {
  return allowanceBar(q.usedTokens, q.tokens + q.topUpTokens, q.remainingTokens);
}

/**
 * dollarDigits is how many decimals show an amount: cents from 10 cents up,
 * below that two significant digits down to a micro-dollar (the unit usage
 * is counted in), so a few calls costing fractions of a cent do not read
 * "$0.00".
 */
function dollarDigits(abs: number): number {
  if (abs === 0 || abs >= 0.1) return 2;
  return Math.min(6, Math.max(2, 1 - Math.floor(Math.log10(abs))));
}

/** formatDollars shows money: "$1,234.50", "$0.50", "$0.0042", "$0.000003". */
export function formatDollars(usd: number): string {
  const abs = Math.abs(usd);
  const digits = dollarDigits(abs);
  return `${usd < 0 ? '-' : ''}$${abs.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })}`;
}

/**
 * formatDollarsLeft shows what is left of a budget rounded down, so that it
 * never looks like more than there is ($49.9958 is "$49.99").
 */
export function formatDollarsLeft(usd: number): string {
  const scale = 10 ** dollarDigits(Math.abs(usd));
  // The epsilon keeps 1.13 (112.99999… cents in floating point) at $1.13.
  return formatDollars(Math.floor(usd * scale + 1e-6) / scale);
}

/** formatTokens shows a token count with thousands separators. */
export function formatTokens(n: number): string {
  return n.toLocaleString('en-US');
}

/** defaultPeriod is the period the server shows by default: the budget's, else the quota's, else month. */
export function defaultPeriod(c: Pick<Consumer, 'budget' | 'quota'>): AllowancePeriod {
  return c.budget?.period ?? c.quota?.period ?? 'month';
}

/** The values of the top-up form; empty means "add none of this". */
export interface TopUpValues {
  usd?: number | null;
  tokens?: number | null;
}

/** validateTopUpUsd: empty, or dollars above 0. */
export function validateTopUpUsd(v: number | null | undefined): Problem | undefined {
  return optionalAmount(v, false, 'ai.consumers.topUpPositive');
}

/** validateTopUpTokens: empty, or a whole number of tokens above 0. */
export function validateTopUpTokens(v: number | null | undefined): Problem | undefined {
  return optionalAmount(v, true, 'ai.consumers.topUpWholeTokens');
}

/** topUpRequest is what to send, or undefined when the form adds nothing. */
export function topUpRequest(v: TopUpValues): { usd?: number; tokens?: number } | undefined {
  const req: { usd?: number; tokens?: number } = {};
  if (v.usd != null) req.usd = v.usd;
  if (v.tokens != null) req.tokens = v.tokens;
  return req.usd === undefined && req.tokens === undefined ? undefined : req;
}
