import { createContext, useContext } from 'react';
import { en, type Messages } from './en';
import { zhCN } from './zh-CN';

/** The languages of the console. */
export type Language = 'en' | 'zh-CN';

export const languages: readonly { value: Language; label: string }[] = [
  { value: 'en', label: 'English' },
  { value: 'zh-CN', label: '中文' },
];

const catalogs: Record<Language, Messages> = { en, 'zh-CN': zhCN };

/** The localStorage key that remembers the chosen language. */
export const languageStorageKey = 'gatehouse.language';

type Path<T> = {
  [K in keyof T & string]: T[K] extends string ? K : `${K}.${Path<T[K]>}`;
}[keyof T & string];

/** A dotted key of a message, checked against the English set. */
export type MessageKey = Path<Messages>;

/** Values substituted for {name} placeholders. */
export type MessageVars = Record<string, string | number>;

/** Translate looks a message up by key. */
export type Translate = (key: MessageKey, vars?: MessageVars) => string;

/**
 * translate returns the message for key in language, with {name}
 * placeholders replaced from vars. An unknown key (impossible when typed)
 * comes back as the key itself so that it is visible, not blank.
 */
export function translate(language: Language, key: MessageKey, vars?: MessageVars): string {
  let node: unknown = catalogs[language];
  for (const part of key.split('.')) {
    node =
      typeof node === 'object' && node !== null
        ? (node as Record<string, unknown>)[part]
        : undefined;
  }
  if (typeof node !== 'string') return key;
  if (!vars) return node;
  return node.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/** isLanguage tells whether v names a console language. */
export function isLanguage(v: unknown): v is Language {
  return v === 'en' || v === 'zh-CN';
}

/**
 * initialLanguage is the remembered choice, else the browser's preference
 * for Chinese, else English.
 */
export function initialLanguage(
  storage: Pick<Storage, 'getItem'> | undefined,
  browserLanguages: readonly string[],
): Language {
  try {
    const stored = storage?.getItem(languageStorageKey);
    if (isLanguage(stored)) return stored;
  } catch {
    // Storage may be unavailable (privacy mode); fall through.
  }
  return browserLanguages.some((l) => l.toLowerCase().startsWith('zh')) ? 'zh-CN' : 'en';
}

export interface I18n {
  language: Language;
  setLanguage: (language: Language) => void;
  t: Translate;
  /** formatDateTime renders an ISO timestamp in the current language; "" stays "". */
  formatDateTime: (iso: string) => string;
  /** formatTime renders the time of day of a Date or epoch milliseconds. */
  formatTime: (at: Date | number) => string;
}

export const I18nContext = createContext<I18n | null>(null);

/** useI18n gives the current language and its translate function. */
export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error('useI18n must be used inside <I18nProvider>');
  return ctx;
}
