import { Col, Row, Typography } from 'antd';
import { useI18n } from '../../i18n/context';
import { SnippetCard } from './SnippetCard';
import { aiSnippets } from './snippets';

/** SnippetsPanel gives ready-to-paste configurations of the SDKs and coding agents for a route. */
export function SnippetsPanel({ base, model }: { base: string; model: string }) {
  const { t } = useI18n();
  const s = aiSnippets(base, model);
  return (
    <>
      <Typography.Paragraph type="secondary">{t('ai.snippets.intro')}</Typography.Paragraph>
      <Row gutter={[16, 16]}>
        <Col xs={24}>
          <SnippetCard
            id="curl"
            title={t('ai.snippets.curl')}
            hint={t('ai.snippets.curlHint')}
            text={s.curl}
          />
        </Col>
        <Col xs={24} xl={12}>
          <SnippetCard
            id="openai-python"
            title={t('ai.snippets.openaiPython')}
            hint={t('ai.snippets.openaiPythonHint')}
            text={s.openaiPython}
          />
        </Col>
        <Col xs={24} xl={12}>
          <SnippetCard
            id="openai-node"
            title={t('ai.snippets.openaiNode')}
            hint={t('ai.snippets.openaiNodeHint')}
            text={s.openaiNode}
          />
        </Col>
        <Col xs={24}>
          <SnippetCard
            id="anthropic"
            title={t('ai.snippets.anthropic')}
            hint={t('ai.snippets.anthropicHint')}
            text={s.anthropic}
          />
        </Col>
        <Col xs={24} xl={12}>
          <SnippetCard
            id="claude-code"
            title={t('ai.snippets.claudeCode')}
            hint={t('ai.snippets.claudeCodeHint')}
            text={s.claudeCode}
          />
        </Col>
        <Col xs={24} xl={12}>
          <SnippetCard
            id="codex"
            title={t('ai.snippets.codex')}
            hint={t('ai.snippets.codexHint')}
            text={s.codex}
          />
        </Col>
      </Row>
    </>
  );
}
