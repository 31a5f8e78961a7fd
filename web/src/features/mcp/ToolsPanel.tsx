import { EditOutlined, ExperimentOutlined, PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Empty, Flex, Space, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { MCPServer, MCPTool, ToolInfo } from '../../api/types';
import { DeleteButton } from '../../components/DeleteButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { withoutTool } from './mcp';
import { ToolDrawer } from './ToolDrawer';
import { TryToolDrawer } from './TryToolDrawer';

interface Row {
  name: string;
  index: number;
  tool?: MCPTool;
  live?: ToolInfo;
}

/**
 * ToolsPanel lists a server's tools: those of its definition, marked when
 * clients cannot see them (allowTools), and for an mcp-proxy those its
 * upstream offers. Each can be tried (render and call) and, for REST
 * servers, edited or deleted.
 */
export function ToolsPanel({ server }: { server: MCPServer }) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const enabled = server.enabled ?? true;
  const proxy = (server.type ?? server.server.type) === 'mcp-proxy';
  const [editing, setEditing] = useState<{ index: number; tool?: MCPTool } | null>(null);
  const [trying, setTrying] = useState<ToolInfo | null>(null);
  const live = useQuery({
    queryKey: [...queryKeys.mcpTools(server.name), server.version],
    queryFn: ({ signal }) => api.mcpTools(server.name, signal),
    enabled,
  });
  const liveByName = new Map((live.data?.items ?? []).map((x) => [x.name, x]));

  const rows: Row[] = proxy
    ? (live.data?.items ?? []).map((x, i) => ({ name: x.name, index: i, live: x }))
    : (server.tools ?? []).map((tool, i) => ({
        name: tool.name,
        index: i,
        tool,
        live: liveByName.get(tool.name),
      }));

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      {!enabled && <Alert type="warning" showIcon title={t('mcp.disabledToolsHint')} />}
      {live.isError && (
        <ErrorAlert
          error={live.error}
          onRetry={() => void live.refetch()}
          title={t('mcp.toolsUnavailable')}
        />
      )}
      {!proxy && (
        <Flex justify="space-between" align="center" wrap gap={8}>
          <Typography.Text type="secondary">{t('mcp.toolsHelp')}</Typography.Text>
          <Button icon={<PlusOutlined />} onClick={() => setEditing({ index: -1 })}>
            {t('mcp.addTool')}
          </Button>
        </Flex>
      )}
      {rows.length === 0 && !live.isPending && (
        <Empty description={t('mcp.noTools')} image={Empty.PRESENTED_IMAGE_SIMPLE} />
      )}
      {rows.map((row) => (
        <Card
          key={`${row.index}-${row.name}`}
          size="small"
          data-testid={`tool-${row.name}`}
          title={
            <Space wrap>
              <Typography.Text strong className="gh-mono">
                {row.name}
              </Typography.Text>
              {enabled && live.isSuccess && !row.live && (
                <Tooltip title={t('mcp.hiddenHelp')}>
                  <Tag>{t('mcp.hidden')}</Tag>
                </Tooltip>
              )}
            </Space>
          }
          extra={
            <Space wrap>
              <Tooltip title={row.live ? undefined : t('mcp.tryUnavailable')}>
                <Button
                  size="small"
                  type="primary"
                  icon={<ExperimentOutlined />}
                  disabled={!row.live}
                  onClick={() => row.live && setTrying(row.live)}
                  aria-label={t('mcp.tryThing', { name: row.name })}
                >
                  {t('mcp.try')}
                </Button>
              </Tooltip>
              {row.tool && (
                <>
                  <Button
                    size="small"
                    icon={<EditOutlined />}
                    onClick={() => setEditing({ index: row.index, tool: row.tool })}
                    aria-label={t('config.editThing', { name: row.name })}
                  >
                    {t('mcp.edit')}
                  </Button>
                  <DeleteButton
                    text
                    label={t('config.deleteThing', { name: row.name })}
                    question={t('mcp.deleteToolQuestion', { name: row.name })}
                    done={t('mcp.toolDeleted', { name: row.name })}
                    onDelete={async () => {
                      const saved = await api.mcpServers.update(
                        server.name,
                        withoutTool(server, row.index),
                      );
                      queryClient.setQueryData(queryKeys.mcpServer(server.name), saved);
                      await queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers });
                    }}
                  />
                </>
              )}
            </Space>
          }
        >
          <ToolSummary row={row} />
        </Card>
      ))}
      {editing && (
        <ToolDrawer
          server={server}
          index={editing.index}
          tool={editing.tool}
          onClose={() => setEditing(null)}
        />
      )}
      {trying && (
        <TryToolDrawer server={server.name} tool={trying} onClose={() => setTrying(null)} />
      )}
    </Space>
  );
}

function ToolSummary({ row }: { row: Row }) {
  const { t } = useI18n();
  const description = row.tool?.description ?? row.live?.description;
  const args = row.tool?.args ?? [];
  const req = row.tool?.requestTemplate;
  return (
    <Space orientation="vertical" size={6} style={{ width: '100%' }}>
      {description && (
        <Typography.Paragraph
          type="secondary"
          ellipsis={{ rows: 2, expandable: true }}
          style={{ marginBottom: 0 }}
        >
          {description}
        </Typography.Paragraph>
      )}
      {args.length > 0 && (
        <Space size={4} wrap>
          <Typography.Text type="secondary">{t('mcp.args')}:</Typography.Text>
          {args.map((a) => (
            <Tag key={a.name} color={a.required ? 'blue' : undefined}>
              {a.name}
              {a.type && a.type !== 'string' ? `: ${a.type}` : ''}
              {a.required ? ' *' : ''}
            </Tag>
          ))}
        </Space>
      )}
      {row.tool && (
        <Typography.Text className="gh-mono" style={{ fontSize: 12 }}>
          {req?.url ? `${req.method ?? 'GET'} ${req.url}` : t('mcp.responseOnly')}
        </Typography.Text>
      )}
    </Space>
  );
}
