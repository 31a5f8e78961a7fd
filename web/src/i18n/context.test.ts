import { describe, expect, it } from 'vitest';
import { en } from './en';
import { initialLanguage, languageStorageKey, translate } from './context';
import { zhCN } from './zh-CN';

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'string' ? [`${prefix}${k}`] : keys(v as object, `${prefix}${k}.`),
  );
}

function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
}

describe('messages', () => {
  it('Chinese translates every English message with the same placeholders', () => {
    expect(keys(zhCN)).toEqual(keys(en));
    for (const key of keys(en)) {
      const k = key as Parameters<typeof translate>[1];
      expect(placeholders(translate('zh-CN', k)), key).toEqual(placeholders(translate('en', k)));
      expect(translate('zh-CN', k), key).not.toBe('');
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'header.signedInAs', { username: 'ada' })).toBe('Signed in as ada');
    expect(translate('zh-CN', 'nav.logs')).toBe('日志');
    expect(translate('en', 'plugins.saved')).toBe('Image address of {name} saved.');
  });
});

describe('initialLanguage', () => {
  const storage = (v: string | null) => ({
    getItem: (k: string) => (k === languageStorageKey ? v : null),
  });

  it('prefers the remembered choice', () => {
    expect(initialLanguage(storage('zh-CN'), ['en-US'])).toBe('zh-CN');
    expect(initialLanguage(storage('en'), ['zh-CN'])).toBe('en');
  });

  it('falls back to the browser languages, then English', () => {
    expect(initialLanguage(storage(null), ['zh-TW', 'en'])).toBe('zh-CN');
    expect(initialLanguage(storage('klingon'), ['de-DE', 'en'])).toBe('en');
    expect(initialLanguage(undefined, [])).toBe('en');
  });

  it('survives storage that throws', () => {
    const broken = {
      getItem: () => {
        throw new Error('SecurityError');
      },
    };
    expect(initialLanguage(broken, ['zh'])).toBe('zh-CN');
  });
});
