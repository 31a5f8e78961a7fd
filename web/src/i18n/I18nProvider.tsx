import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import {
  I18nContext,
  initialLanguage,
  languageStorageKey,
  translate,
  type I18n,
  type Language,
} from './context';

/** I18nProvider holds the console language and remembers changes in localStorage. */
export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(() =>
    initialLanguage(safeLocalStorage(), navigator.languages),
  );

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  const setLanguage = useCallback((next: Language) => {
    setLanguageState(next);
    try {
      safeLocalStorage()?.setItem(languageStorageKey, next);
    } catch {
      // Not remembered, but still switched.
    }
  }, []);

  const value = useMemo<I18n>(() => {
    const dateTime = new Intl.DateTimeFormat(language, {
      dateStyle: 'medium',
      timeStyle: 'medium',
    });
    const time = new Intl.DateTimeFormat(language, { timeStyle: 'medium' });
    return {
      language,
      setLanguage,
      t: (key, vars) => translate(language, key, vars),
      formatDateTime: (iso) => {
        if (!iso) return '';
        const at = new Date(iso);
        return Number.isNaN(at.getTime()) ? iso : dateTime.format(at);
      },
      formatTime: (at) => time.format(at),
    };
  }, [language, setLanguage]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

function safeLocalStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
