import { Typography } from 'antd';
import { useI18n } from '../i18n/context';

/** CopyText shows a value in monospace with a copy button named after what it copies. */
export function CopyText({ text, label }: { text: string; label: string }) {
  const { t } = useI18n();
  return (
    <Typography.Text
      className="gh-mono"
      style={{ wordBreak: 'break-all' }}
      copyable={{
        text,
        tooltips: [t('common.copyThing', { thing: label }), t('common.copied')],
      }}
    >
      {text}
    </Typography.Text>
  );
}
