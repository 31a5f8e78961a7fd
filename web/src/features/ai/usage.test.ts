import { describe, expect, it } from 'vitest';
import { formatRate } from './usage';

describe('formatRate', () => {
  it('shows a hit rate as a percentage with one decimal', () => {
    expect(formatRate(0)).toBe('0.0 %');
    expect(formatRate(0.5)).toBe('50.0 %');
    expect(formatRate(2 / 3)).toBe('66.7 %');
    expect(formatRate(1)).toBe('100.0 %');
  });
});
