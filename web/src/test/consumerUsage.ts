import type { BudgetUsage, ConsumerUsage, ConsumersUsage, QuotaUsage } from '../api/types';

// Answers of the consumer usage API in the shape of the contract
// (docs/usage.md): GET /consumers/{name}/usage and GET /consumers/usage.

/** budgetOf is team-a's monthly budget of $50 with $0.0042 spent. */
export function budgetOf(over: Partial<BudgetUsage> = {}): BudgetUsage {
  return {
    usd: 50,
    period: 'month',
    spentUsd: 0.0042,
    topUpUsd: 0,
    remainingUsd: 49.9958,
    resetsAt: '2027-01-01T00:00:00Z',
    ...over,
  };
}

/** quotaOf is team-a's monthly quota of 2M tokens with 1,500 used. */
export function quotaOf(over: Partial<QuotaUsage> = {}): QuotaUsage {
  return {
    tokens: 2000000,
    period: 'month',
    usedTokens: 1500,
    topUpTokens: 0,
    remainingTokens: 1998500,
    resetsAt: '2027-01-01T00:00:00Z',
    ...over,
  };
}

/** usageOf is team-a's monthly usage: $50 budget, 2M token quota, one model. */
export function usageOf(over: Partial<ConsumerUsage> = {}): ConsumerUsage {
  return {
    consumer: 'team-a',
    period: 'month',
    periodStart: '2026-12-01T00:00:00Z',
    resetsAt: '2027-01-01T00:00:00Z',
    source: 'redis',
    totals: {
      inputTokens: 1200,
      outputTokens: 300,
      cachedInputTokens: 0,
      tokens: 1500,
      usd: 0.0042,
      requests: 3,
    },
    quota: quotaOf(),
    budget: budgetOf(),
    models: [
      {
        model: 'gpt-4o-mini',
        inputTokens: 1200,
        outputTokens: 300,
        cachedInputTokens: 0,
        usd: 0.0042,
        requests: 3,
      },
    ],
    ...over,
  };
}

/** usageList is GET /consumers/usage over the given consumers' usage. */
export function usageList(items: ConsumerUsage[]): ConsumersUsage {
  return {
    period: 'month',
    periodStart: '2026-12-01T00:00:00Z',
    resetsAt: '2027-01-01T00:00:00Z',
    source: 'redis',
    items: items.map((u) => {
      const item: Omit<ConsumerUsage, 'models'> & { models?: unknown } = { ...u };
      delete item.models;
      return item;
    }),
  };
}
