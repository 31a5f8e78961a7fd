import { Segmented } from 'antd';
import { languages, useI18n, type Language } from '../i18n/context';

/** LanguageSwitch switches the console between English and 中文. */
export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  return (
    <Segmented<Language>
      size="small"
      aria-label={t('common.language')}
      value={language}
      onChange={setLanguage}
      options={languages.map((l) => ({ value: l.value, label: l.label }))}
    />
  );
}
