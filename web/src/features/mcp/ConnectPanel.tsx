import { Alert, Card, Col, Descriptions, Row, Space, Typography } from 'antd';
import type { MCPServer } from '../../api/types';
import { CopyText } from '../../components/CopyText';
import { GatewayOriginField } from '../../components/GatewayOriginField';
import { useI18n } from '../../i18n/context';
import { useGatewayOrigin } from '../../lib/gateway';
import { clientSnippets, mcpEndpoints } from './mcp';

function Snippet({
  title,
  hint,
  text,
  id,
}: {
  title: string;
  hint: string;
  text: string;
  id: string;
}) {
  const { t } = useI18n();
  return (
    <Card
      size="small"
      title={title}
      data-testid={`snippet-${id}`}
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

/** ConnectPanel gives a server's endpoint URLs and ready-to-paste client configurations. */
export function ConnectPanel({ server }: { server: MCPServer }) {
  const { t } = useI18n();
  const gateway = useGatewayOrigin();
  const ep = mcpEndpoints(gateway.origin, server);
  const auth = (server.auth?.type ?? 'none') !== 'none';
  const snippets = clientSnippets(server.name, ep, auth);
  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <GatewayOriginField {...gateway} />
      {server.enabled === false && <Alert type="warning" showIcon title={t('mcp.disabledHint')} />}
      <Descriptions
        bordered
        size="small"
        column={1}
        items={[
          {
            key: 'streamable',
            label: t('mcp.streamableUrl'),
            children: <CopyText text={ep.streamable} label={t('mcp.streamableUrl')} />,
          },
          {
            key: 'sse',
            label: t('mcp.sseUrl'),
            children: <CopyText text={ep.sse} label={t('mcp.sseUrl')} />,
          },
          {
            key: 'domains',
            label: t('mcp.domains'),
            children:
              server.domains && server.domains.length > 0
                ? server.domains.join(', ')
                : t('mcp.anyHost'),
          },
          {
            key: 'auth',
            label: t('mcp.auth'),
            children: t(`mcp.authHelp.${server.auth?.type ?? 'none'}`),
          },
        ]}
      />
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={12}>
          <Snippet
            id="claude"
            title={t('mcp.snippets.claude')}
            hint={t('mcp.snippets.claudeHint')}
            text={snippets.claudeDesktop}
          />
        </Col>
        <Col xs={24} lg={12}>
          <Snippet
            id="cursor"
            title={t('mcp.snippets.cursor')}
            hint={t('mcp.snippets.cursorHint')}
            text={snippets.cursor}
          />
        </Col>
        <Col xs={24}>
          <Snippet
            id="inspector"
            title={t('mcp.snippets.inspector')}
            hint={t('mcp.snippets.inspectorHint')}
            text={`${snippets.inspector}\n\n# ${t('mcp.snippets.legacySse')}\n${snippets.inspectorSse}`}
          />
        </Col>
      </Row>
    </Space>
  );
}
