import type { AIUsage } from '../../api/types';

/** Totals of a usage answer, summed over its models. */
export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
}

/** usageTotals sums the tokens in and out over every model. */
export function usageTotals(u: Pick<AIUsage, 'byModel'>): UsageTotals {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const m of u.byModel) {
    inputTokens += m.inputTokens;
    outputTokens += m.outputTokens;
  }
  return { inputTokens, outputTokens };
}

/** byTokens orders rows by tokens in and out, the heaviest first. */
export function byTokens<T extends { inputTokens: number; outputTokens: number }>(
  rows: readonly T[],
): T[] {
  return [...rows].sort(
    (a, b) => b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens),
  );
}

/** formatMs renders a time to first token: whole milliseconds from 10 ms, one decimal below. */
export function formatMs(ms: number): string {
  return ms >= 10 ? Math.round(ms).toString() : ms.toFixed(1);
}

/** formatRate renders a ratio 0..1 as a percentage with one decimal. */
export function formatRate(rate: number): string {
  return `${(Math.round(rate * 1000) / 10).toFixed(1)} %`;
}
