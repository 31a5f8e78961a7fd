import type { Problem } from '../../lib/validation';

/** validatePriceModel: an exact model name, or a prefix ending in one "*". */
export function validatePriceModel(v: string | undefined): Problem | undefined {
  const m = (v ?? '').trim();
  if (m === '') return { key: 'ai.prices.modelRequired' };
  if (m.slice(0, -1).includes('*') || /\s/.test(m)) return { key: 'ai.prices.modelInvalid' };
  return undefined;
}

/** validatePriceDate: the day the price was read, YYYY-MM-DD. */
export function validatePriceDate(v: string | undefined): Problem | undefined {
  const d = (v ?? '').trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`))) {
    return { key: 'ai.prices.dateInvalid' };
  }
  return undefined;
}

/** formatUsd shows a price per million tokens. */
export function formatUsd(v: number | undefined): string {
  return v === undefined ? '—' : `$${v.toFixed(v < 1 ? 3 : 2)}`;
}
