import { describe, expect, it } from 'vitest';
import type { Consumer } from '../../api/types';
import {
  consumerToForm,
  emptyConsumer,
  formToConsumer,
  keyExpired,
  periodEnd,
  validateBudgetUsd,
  validateLabels,
  validateQuotaTokens,
} from './consumerForm';
import { validatePriceDate, validatePriceModel } from './priceForm';

const stored: Consumer = {
  name: 'team-a',
  credentials: [{ id: 'k1', hint: 'gh-…abcd', expiresAt: '2027-01-01T00:00:00Z' }, { id: 'k2' }],
  labels: { team: 'search' },
  allowedModels: ['gpt-4o*'],
  allowedAiRoutes: ['chat'],
  quota: { tokens: 100000, period: 'day' },
  budget: { usd: 25, period: 'month' },
  version: 7,
};

describe('consumer form', () => {
  it('round-trips a stored consumer, sending its keys back by id only', () => {
    expect(formToConsumer(consumerToForm(stored), stored)).toEqual({
      ...stored,
      credentials: [{ id: 'k1', expiresAt: '2027-01-01T00:00:00Z' }, { id: 'k2' }],
    });
  });

  it('sends a new consumer without keys, quota or budget so the server generates a key', () => {
    const c = formToConsumer({
      ...emptyConsumer(),
      name: ' team-b ',
      allowedModels: [' qwen ', ''],
    });
    expect(c).toEqual({
      name: 'team-b',
      credentials: [],
      allowedModels: ['qwen'],
      allowedAiRoutes: [],
      version: undefined,
    });
  });

  it('refuses labels that are not key=value or repeat a key', () => {
    expect(validateLabels(['team=a', 'env=prod'])).toBeUndefined();
    expect(validateLabels(['team'])?.key).toBe('ai.consumers.labelInvalid');
    expect(validateLabels(['=x'])?.key).toBe('ai.consumers.labelInvalid');
    expect(validateLabels(['team=a', 'team=b'])).toEqual({
      key: 'ai.consumers.labelTwice',
      vars: { key: 'team' },
    });
  });

  it('accepts no quota or budget, refuses zero, negative and fractional tokens', () => {
    expect(validateQuotaTokens(null)).toBeUndefined();
    expect(validateQuotaTokens(1000)).toBeUndefined();
    expect(validateQuotaTokens(0)?.key).toBe('ai.consumers.quotaInvalid');
    expect(validateQuotaTokens(1.5)?.key).toBe('ai.consumers.quotaInvalid');
    expect(validateBudgetUsd(undefined)).toBeUndefined();
    expect(validateBudgetUsd(0.5)).toBeUndefined();
    expect(validateBudgetUsd(-1)?.key).toBe('ai.consumers.budgetInvalid');
  });

  it('tells expired keys and when a period resets (UTC)', () => {
    const now = Date.parse('2026-12-04T20:00:00Z');
    expect(keyExpired('2026-12-04T19:59:59Z', now)).toBe(true);
    expect(keyExpired('2026-12-05T00:00:00Z', now)).toBe(false);
    expect(keyExpired(undefined, now)).toBe(false);
    expect(periodEnd('day', new Date(now)).toISOString()).toBe('2026-12-05T00:00:00.000Z');
    expect(periodEnd('month', new Date(now)).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});

describe('model price form', () => {
  it('takes exact names and trailing-* prefixes only', () => {
    expect(validatePriceModel('gpt-4o')).toBeUndefined();
    expect(validatePriceModel('gpt-4o*')).toBeUndefined();
    expect(validatePriceModel('')?.key).toBe('ai.prices.modelRequired');
    expect(validatePriceModel('gpt*4o')?.key).toBe('ai.prices.modelInvalid');
    expect(validatePriceModel('gpt 4o')?.key).toBe('ai.prices.modelInvalid');
  });

  it('takes a real YYYY-MM-DD date', () => {
    expect(validatePriceDate('2026-11-30')).toBeUndefined();
    expect(validatePriceDate('30/11/2026')?.key).toBe('ai.prices.dateInvalid');
    expect(validatePriceDate('2026-13-40')?.key).toBe('ai.prices.dateInvalid');
  });
});
