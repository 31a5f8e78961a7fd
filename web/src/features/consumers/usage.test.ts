import { describe, expect, it } from 'vitest';
import { budgetOf, quotaOf } from '../../test/consumerUsage';
import {
  allowanceBar,
  budgetBar,
  defaultPeriod,
  formatDollars,
  formatDollarsLeft,
  quotaBar,
  topUpRequest,
  validateTopUpTokens,
  validateTopUpUsd,
} from './usage';

describe('allowance bars', () => {
  it('run from ok to low at 75 % and to out at 95 % or when nothing is left', () => {
    expect(allowanceBar(10, 100, 90)).toMatchObject({ percent: 10, level: 'ok' });
    expect(allowanceBar(74.9, 100, 25.1).level).toBe('ok');
    expect(allowanceBar(75, 100, 25)).toMatchObject({ percent: 75, level: 'low' });
    expect(allowanceBar(95, 100, 5).level).toBe('out');
    // Spent past the limit (one request larger than the rest): full, out, nothing left.
    expect(allowanceBar(130, 100, -30)).toMatchObject({ percent: 100, remaining: 0, level: 'out' });
    // The server's remaining wins: a reset or top-up it counted is not second-guessed.
    expect(allowanceBar(10, 100, 0).level).toBe('out');
  });

  it('count top-ups into the limit', () => {
    const b = budgetBar(budgetOf({ spentUsd: 45, topUpUsd: 10, remainingUsd: 15 }));
    expect(b).toMatchObject({ limit: 60, used: 45, percent: 75, level: 'low' });
    const q = quotaBar(quotaOf({ usedTokens: 1_000_000, topUpTokens: 2_000_000 }));
    expect(q).toMatchObject({ limit: 4_000_000, percent: 25, level: 'ok' });
  });
});

describe('money', () => {
  it('shows cents from 10 cents up and two significant digits of smaller amounts', () => {
    expect(formatDollars(0)).toBe('$0.00');
    expect(formatDollars(0.5)).toBe('$0.50');
    expect(formatDollars(0.0042)).toBe('$0.0042');
    expect(formatDollars(0.000003)).toBe('$0.000003');
    expect(formatDollars(50)).toBe('$50.00');
    expect(formatDollars(1234.5)).toBe('$1,234.50');
  });

  it('rounds what is left down, never showing more than there is', () => {
    expect(formatDollarsLeft(49.9958)).toBe('$49.99');
    expect(formatDollarsLeft(1.13)).toBe('$1.13');
    expect(formatDollarsLeft(0.00429)).toBe('$0.0042');
  });
});

describe('top-up form', () => {
  it('takes positive dollars and whole positive tokens, empty meaning none', () => {
    expect(validateTopUpUsd(null)).toBeUndefined();
    expect(validateTopUpUsd(0.5)).toBeUndefined();
    expect(validateTopUpUsd(0)?.key).toBe('ai.consumers.topUpPositive');
    expect(validateTopUpUsd(-10)?.key).toBe('ai.consumers.topUpPositive');
    expect(validateTopUpTokens(1000)).toBeUndefined();
    expect(validateTopUpTokens(10.5)?.key).toBe('ai.consumers.topUpWholeTokens');
    expect(validateTopUpTokens(-1)?.key).toBe('ai.consumers.topUpWholeTokens');
  });

  it('sends only what was filled, and nothing when nothing was', () => {
    expect(topUpRequest({ usd: 10, tokens: null })).toEqual({ usd: 10 });
    expect(topUpRequest({ tokens: 5000 })).toEqual({ tokens: 5000 });
    expect(topUpRequest({ usd: null, tokens: null })).toBeUndefined();
  });

  it('opens on the budget period, else the quota period, else the month', () => {
    expect(defaultPeriod({ budget: { usd: 1, period: 'day' } })).toBe('day');
    expect(defaultPeriod({ quota: { tokens: 1, period: 'day' } })).toBe('day');
    expect(defaultPeriod({})).toBe('month');
  });
});
