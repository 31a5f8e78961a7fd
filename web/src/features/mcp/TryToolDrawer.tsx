import { EyeOutlined, PlayCircleOutlined } from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import { Alert, Button, Card, Descriptions, Flex, Space, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { isApiError } from '../../api/client';
import { useApi } from '../../api/context';
import type { ContentBlock, RenderedRequest, ToolInfo, ToolResult } from '../../api/types';
import { ConfigEditor } from '../../components/ConfigEditor';
import { ErrorAlert } from '../../components/ErrorAlert';
import { SideDrawer } from '../../components/SideDrawer';
import { useI18n } from '../../i18n/context';
import { formatFieldPath } from '../../lib/fieldPath';
import { defaultsOf, validateSchema } from '../../lib/jsonSchema';

/**
 * TryToolDrawer runs one tool from the console: an arguments form generated
 * from the tool's input schema (with its JSON beside it), "Render" to see
 * the upstream request without sending it, and "Call" to run the tool and
 * see its result.
 */
export function TryToolDrawer({
  server,
  tool,
  onClose,
}: {
  server: string;
  tool: ToolInfo;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const [args, setArgs] = useState<Record<string, unknown>>(() => defaultsOf(tool.inputSchema));
  const [checked, setChecked] = useState(false);
  const problems = useMemo(
    () =>
      validateSchema(tool.inputSchema, args).map((p) => ({
        field: formatFieldPath(p.path),
        message: t(p.key, p.vars),
      })),
    [tool.inputSchema, args, t],
  );
  const render = useMutation({ mutationFn: () => api.renderTool(server, tool.name, args) });
  const call = useMutation({ mutationFn: () => api.callTool(server, tool.name, args) });
  const ready = () => {
    setChecked(true);
    return problems.length === 0;
  };

  return (
    <SideDrawer
      title={t('mcp.tryTitle', { name: tool.name })}
      onClose={onClose}
      width={960}
      footer={
        <Flex justify="flex-end" gap={8} wrap>
          <Button
            icon={<EyeOutlined />}
            loading={render.isPending}
            onClick={() => ready() && render.mutate()}
          >
            {t('mcp.render')}
          </Button>
          <Button
            type="primary"
            icon={<PlayCircleOutlined />}
            loading={call.isPending}
            onClick={() => ready() && call.mutate()}
          >
            {t('mcp.call')}
          </Button>
        </Flex>
      }
    >
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        {tool.description && (
          <Typography.Paragraph type="secondary" ellipsis={{ rows: 3, expandable: true }}>
            {tool.description}
          </Typography.Paragraph>
        )}
        <Typography.Title level={5} style={{ margin: 0 }}>
          {t('mcp.arguments')}
        </Typography.Title>
        <ConfigEditor
          schema={tool.inputSchema}
          value={args}
          onChange={setArgs}
          problems={checked ? problems : []}
          idPrefix="args"
          jsonLabel={t('mcp.argumentsJson')}
        />
        {render.isError &&
          (isApiError(render.error, 'tool_not_renderable') ? (
            <Alert type="info" showIcon title={t('mcp.notRenderable')} />
          ) : (
            <ErrorAlert error={render.error} title={t('mcp.renderFailed')} />
          ))}
        {render.isSuccess && <RenderedView req={render.data} />}
        {call.isError && <ErrorAlert error={call.error} title={t('mcp.callFailed')} />}
        {call.isSuccess && <ResultView result={call.data} />}
      </Space>
    </SideDrawer>
  );
}

function RenderedView({ req }: { req: RenderedRequest }) {
  const { t } = useI18n();
  const headers = Object.entries(req.headers);
  return (
    <Card size="small" title={t('mcp.renderedTitle')} data-testid="tool-rendered">
      <Descriptions
        size="small"
        column={1}
        items={[
          {
            key: 'request',
            label: t('mcp.request'),
            children: (
              <Typography.Text className="gh-mono" copyable style={{ wordBreak: 'break-all' }}>
                {`${req.method} ${req.url}`}
              </Typography.Text>
            ),
          },
          {
            key: 'headers',
            label: t('mcp.headers'),
            children:
              headers.length === 0 ? (
                t('common.none')
              ) : (
                <pre
                  className="gh-mono"
                  style={{ margin: 0, fontSize: 12, whiteSpace: 'pre-wrap' }}
                >
                  {headers.map(([k, v]) => `${k}: ${v}`).join('\n')}
                </pre>
              ),
          },
          {
            key: 'body',
            label: t('mcp.body'),
            children:
              req.body === '' ? (
                t('common.none')
              ) : (
                <pre
                  className="gh-mono"
                  style={{
                    margin: 0,
                    fontSize: 12,
                    whiteSpace: 'pre-wrap',
                    wordBreak: 'break-all',
                  }}
                >
                  {req.body}
                </pre>
              ),
          },
        ]}
      />
    </Card>
  );
}

function Block({ block }: { block: ContentBlock }) {
  if (block.type === 'text' && typeof block.text === 'string') {
    return (
      <pre
        className="gh-mono"
        data-testid="tool-result-text"
        style={{ margin: 0, fontSize: 12, whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}
      >
        {block.text}
      </pre>
    );
  }
  if (block.type === 'image' && block.data && block.mimeType?.startsWith('image/')) {
    return (
      <img
        alt=""
        src={`data:${block.mimeType};base64,${block.data}`}
        style={{ maxWidth: '100%' }}
      />
    );
  }
  return (
    <pre className="gh-mono" style={{ margin: 0, fontSize: 12, whiteSpace: 'pre-wrap' }}>
      {JSON.stringify(block, null, 2)}
    </pre>
  );
}

function ResultView({ result }: { result: ToolResult }) {
  const { t } = useI18n();
  return (
    <Card
      size="small"
      data-testid="tool-result"
      title={t('mcp.resultTitle')}
      styles={{ body: { display: 'flex', flexDirection: 'column', gap: 12 } }}
    >
      {result.isError && <Alert type="error" showIcon title={t('mcp.toolError')} />}
      {result.content.length === 0 && (
        <Typography.Text type="secondary">{t('mcp.emptyResult')}</Typography.Text>
      )}
      {result.content.map((b, i) => (
        <Block key={i} block={b} />
      ))}
      {result.structuredContent !== undefined && result.structuredContent !== null && (
        <>
          <Typography.Text strong>{t('mcp.structured')}</Typography.Text>
          <pre className="gh-mono" style={{ margin: 0, fontSize: 12, whiteSpace: 'pre-wrap' }}>
            {JSON.stringify(result.structuredContent, null, 2)}
          </pre>
        </>
      )}
    </Card>
  );
}
