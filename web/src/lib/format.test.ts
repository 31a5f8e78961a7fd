import { describe, expect, it } from 'vitest';
import { translate } from '../i18n/context';
import { durationParts, formatDuration } from './format';

describe('durations', () => {
  it.each([
    [0, '0s'],
    [59.9, '59s'],
    [61, '1m 1s'],
    [3600, '1h'],
    [3 * 86400 + 4 * 3600 + 12 * 60 + 5, '3d 4h'],
    [86400 + 59, '1d'],
    [-5, '0s'],
  ])('%d seconds read as %s', (seconds, want) => {
    expect(formatDuration(seconds, (k, v) => translate('en', k, v))).toBe(want);
  });

  it('speaks Chinese too', () => {
    expect(formatDuration(2 * 3600 + 5 * 60, (k, v) => translate('zh-CN', k, v))).toBe(
      '2 小时 5 分',
    );
  });

  it('never shows more than two units', () => {
    expect(durationParts(90061)).toEqual([
      { unit: 'd', n: 1 },
      { unit: 'h', n: 1 },
    ]);
  });
});
