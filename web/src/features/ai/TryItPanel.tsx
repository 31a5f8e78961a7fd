import { SendOutlined, StopOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Col, Flex, Form, Input, Row, Spin, Typography } from 'antd';
import { useState } from 'react';
import { ChatError, chatCompletionsURL } from '../../api/chat';
import { useI18n } from '../../i18n/context';
import { useChatStream, type ChatState } from './useChatStream';

/** ChatFailure says why an answer did not come, in words that point at the fix. */
function ChatFailure({ error, url }: { error: unknown; url: string }) {
  const { t } = useI18n();
  if (error instanceof ChatError && error.unreachable) {
    return (
      <Alert
        type="error"
        showIcon
        role="alert"
        title={t('ai.tryIt.unreachable', { url })}
        description={t('ai.tryIt.unreachableHint', { origin: window.location.origin })}
      />
    );
  }
  const status = error instanceof ChatError ? error.status : 0;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={status > 0 ? t('ai.tryIt.refused', { status }) : t('ai.tryIt.failed')}
      description={error instanceof Error ? error.message : String(error)}
    />
  );
}

/** ChatUsageLine shows the tokens and timings of a finished answer. */
function ChatUsageLine({ state }: { state: ChatState }) {
  const { t } = useI18n();
  return (
    <Flex vertical gap={2} data-testid="try-it-usage">
      {state.usage ? (
        <Typography.Text>
          {t('ai.tryIt.usage', {
            input: state.usage.promptTokens,
            output: state.usage.completionTokens,
          })}
        </Typography.Text>
      ) : (
        <Typography.Text type="secondary">{t('ai.tryIt.noUsage')}</Typography.Text>
      )}
      <Typography.Text type="secondary">
        {t('ai.tryIt.timing', {
          ttft: Math.round(state.firstTokenMs ?? state.totalMs ?? 0),
          total: Math.round(state.totalMs ?? 0),
        })}
      </Typography.Text>
    </Flex>
  );
}

/**
 * TryItPanel sends a message through the gateway to an AI route, as an
 * OpenAI client would (streamed), and shows the answer as it arrives, then
 * its usage.
 */
export function TryItPanel({
  origin,
  pathPrefix,
  defaultModel,
}: {
  origin: string;
  pathPrefix: string;
  defaultModel: string;
}) {
  const { t } = useI18n();
  const [key, setKey] = useState('');
  const [model, setModel] = useState(defaultModel);
  const [prompt, setPrompt] = useState(() => t('ai.tryIt.promptDefault'));
  const { state, send, stop } = useChatStream();
  const url = chatCompletionsURL(origin, pathPrefix);
  const streaming = state.status === 'streaming';

  return (
    <Flex vertical gap={16}>
      <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
        {t('ai.tryIt.intro')}
      </Typography.Paragraph>
      <Form
        layout="vertical"
        onFinish={() => send({ url, model: model.trim(), prompt, key: key.trim() })}
      >
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              label={t('ai.tryIt.consumerKey')}
              extra={t('ai.tryIt.consumerKeyHelp')}
              htmlFor="try-it-key"
            >
              <Input.Password
                id="try-it-key"
                value={key}
                onChange={(e) => setKey(e.target.value)}
                autoComplete="off"
                className="gh-mono"
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item label={t('ai.tryIt.model')} htmlFor="try-it-model">
              <Input
                id="try-it-model"
                value={model}
                onChange={(e) => setModel(e.target.value)}
                autoComplete="off"
                spellCheck={false}
                className="gh-mono"
              />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item label={t('ai.tryIt.prompt')} htmlFor="try-it-prompt">
          <Input.TextArea
            id="try-it-prompt"
            value={prompt}
            onChange={(e) => setPrompt(e.target.value)}
            autoSize={{ minRows: 2, maxRows: 8 }}
          />
        </Form.Item>
        <Flex gap={8}>
          <Button
            type="primary"
            htmlType="submit"
            icon={<SendOutlined />}
            disabled={streaming || prompt.trim() === '' || model.trim() === ''}
          >
            {t('ai.tryIt.send')}
          </Button>
          {streaming && (
            <Button icon={<StopOutlined />} onClick={stop}>
              {t('ai.tryIt.stop')}
            </Button>
          )}
        </Flex>
      </Form>
      {state.status !== 'idle' && (
        <Card
          size="small"
          title={
            state.model
              ? `${t('ai.tryIt.answer')} · ${t('ai.tryIt.answeredBy', { model: state.model })}`
              : t('ai.tryIt.answer')
          }
        >
          <Flex vertical gap={12}>
            {streaming && state.answer === '' && (
              <Flex gap={8} align="center">
                <Spin size="small" />
                <Typography.Text type="secondary">{t('ai.tryIt.waiting')}</Typography.Text>
              </Flex>
            )}
            {state.answer !== '' && (
              <Typography.Paragraph
                data-testid="try-it-answer"
                aria-live="polite"
                style={{ whiteSpace: 'pre-wrap', margin: 0 }}
              >
                {state.answer}
              </Typography.Paragraph>
            )}
            {state.status === 'failed' && <ChatFailure error={state.error} url={url} />}
            {state.status === 'stopped' && (
              <Typography.Text type="secondary">{t('ai.tryIt.stopped')}</Typography.Text>
            )}
            {state.status === 'done' && <ChatUsageLine state={state} />}
          </Flex>
        </Card>
      )}
    </Flex>
  );
}
