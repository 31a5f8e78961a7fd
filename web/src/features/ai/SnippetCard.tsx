import { Card, Typography } from 'antd';
import { useI18n } from '../../i18n/context';

/** SnippetCard shows one ready-to-paste snippet with a hint and a copy button. */
export function SnippetCard({
  id,
  title,
  hint,
  text,
}: {
  id: string;
  title: string;
  hint: string;
  text: string;
}) {
  const { t } = useI18n();
  return (
    <Card
      size="small"
      title={title}
      data-testid={`ai-snippet-${id}`}
      extra={
        <Typography.Text
          copyable={{
            text,
            tooltips: [t('common.copyThing', { thing: title }), t('common.copied')],
          }}
        />
      }
    >
      <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
        {hint}
      </Typography.Paragraph>
      <pre
        className="gh-mono"
        style={{ margin: 0, fontSize: 12, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}
      >
        {text}
      </pre>
    </Card>
  );
}
