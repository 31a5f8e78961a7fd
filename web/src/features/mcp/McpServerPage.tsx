import { ArrowLeftOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Flex, Result, Space, Switch, Tabs, Tag, Typography } from 'antd';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { isApiError } from '../../api/client';
import { queryKeys, useApi } from '../../api/context';
import type { MCPServer } from '../../api/types';
import { DeleteButton } from '../../components/DeleteButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';
import { ConnectPanel } from './ConnectPanel';
import { DefinitionEditor } from './DefinitionEditor';
import { McpStatusPanel } from './McpStatus';
import { SettingsPanel } from './SettingsPanel';
import { ToolsPanel } from './ToolsPanel';

const tabs = ['tools', 'connect', 'settings', 'definition'] as const;
type TabKey = (typeof tabs)[number];

function isTab(v: string | null): v is TabKey {
  return (tabs as readonly (string | null)[]).includes(v);
}

/** McpServerPage is one MCP server: its tools, how to connect, its settings and its whole definition. */
export default function McpServerPage() {
  const { t } = useI18n();
  const api = useApi();
  const { name = '' } = useParams();
  const server = useQuery({
    queryKey: queryKeys.mcpServer(name),
    queryFn: ({ signal }) => api.mcpServers.get(name, signal),
  });

  if (server.isPending) return <Loading />;
  if (server.isError) {
    if (isApiError(server.error, 'mcp_server_not_found')) {
      return (
        <Result
          status="404"
          title={t('mcp.notFound', { name })}
          extra={
            <Link to="/mcp-servers">
              <Button type="primary">{t('mcp.backToList')}</Button>
            </Link>
          }
        />
      );
    }
    return <ErrorAlert error={server.error} onRetry={() => void server.refetch()} />;
  }
  return <ServerView server={server.data} />;
}

function ServerView({ server }: { server: MCPServer }) {
  const { t } = useI18n();
  const api = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const tabParam = params.get('tab');
  const tab: TabKey = isTab(tabParam) ? tabParam : 'tools';
  const enabled = server.enabled ?? true;

  const toggle = useMutation({
    mutationFn: (on: boolean) => api.mcpServers.update(server.name, { ...server, enabled: on }),
    onSuccess: (saved) => {
      queryClient.setQueryData(queryKeys.mcpServer(server.name), saved);
      void queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers });
    },
    onError: (err) => void message.error(describeError(err, t).message, 8),
  });

  return (
    <>
      <Flex justify="space-between" align="center" wrap gap={12} style={{ marginBottom: 16 }}>
        <Space align="center" wrap>
          <Link to="/mcp-servers" aria-label={t('mcp.backToList')}>
            <ArrowLeftOutlined />
          </Link>
          <Typography.Title level={3} style={{ margin: 0 }}>
            {server.name}
          </Typography.Title>
          <Tag>{server.type ?? server.server.type ?? 'rest'}</Tag>
          {!enabled && <Tag color="default">{t('mcp.disabledTag')}</Tag>}
        </Space>
        <Space wrap>
          <Switch
            checked={enabled}
            loading={toggle.isPending}
            onChange={(on) => toggle.mutate(on)}
            aria-label={t('mcp.enableThing', { name: server.name })}
            checkedChildren={t('mcp.enabled')}
            unCheckedChildren={t('mcp.disabledTag')}
          />
          <DeleteButton
            size="middle"
            label={t('config.deleteThing', { name: server.name })}
            question={t('mcp.deleteQuestion', { name: server.name })}
            done={t('mcp.deleted', { name: server.name })}
            onDelete={async () => {
              await api.mcpServers.remove(server.name, server.version);
              await queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers });
              void navigate('/mcp-servers');
            }}
          />
        </Space>
      </Flex>
      <McpStatusPanel server={server} />
      <Tabs
        activeKey={tab}
        onChange={(k) => setParams({ tab: k }, { replace: true })}
        destroyOnHidden
        items={[
          { key: 'tools', label: t('mcp.tabs.tools'), children: <ToolsPanel server={server} /> },
          {
            key: 'connect',
            label: t('mcp.tabs.connect'),
            children: <ConnectPanel server={server} />,
          },
          {
            key: 'settings',
            label: t('mcp.tabs.settings'),
            children: <SettingsPanel server={server} />,
          },
          {
            key: 'definition',
            label: t('mcp.tabs.definition'),
            children: <DefinitionEditor server={server} />,
          },
        ]}
      />
    </>
  );
}
