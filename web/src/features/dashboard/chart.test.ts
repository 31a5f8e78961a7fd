import { describe, expect, it } from 'vitest';
import { linePath, niceMax, seriesMax } from './chart';

const box = { width: 100, height: 50 };

describe('niceMax', () => {
  it('rounds the axis top up to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(1)).toBe(1);
    expect(niceMax(1.2)).toBe(2);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(420)).toBe(500);
  });

  it('gives an empty or broken series a top of 1', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(Number.NaN)).toBe(1);
    expect(niceMax(-5)).toBe(1);
  });
});

describe('linePath', () => {
  it('spans the box from the first to the last sample, 0 at the bottom', () => {
    expect(linePath([0, 5, 10], 10, box)).toBe('M0 50 L50 25 L100 0');
  });

  it('clips values above the top and draws bad values as 0', () => {
    expect(linePath([20, Number.NaN, -1], 10, box)).toBe('M0 0 L50 50 L100 50');
  });

  it('draws one sample as a flat line and none as nothing', () => {
    expect(linePath([5], 10, box)).toBe('M0 25 L100 25');
    expect(linePath([], 10, box)).toBe('');
  });
});

describe('seriesMax', () => {
  it('is the largest finite value of every line', () => {
    expect(
      seriesMax([
        { key: 'a', label: 'a', color: 'red', values: [1, 4] },
        { key: 'b', label: 'b', color: 'blue', values: [Number.POSITIVE_INFINITY, 3] },
      ]),
    ).toBe(4);
    expect(seriesMax([])).toBe(0);
  });
});
