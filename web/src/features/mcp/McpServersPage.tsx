import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Space, Switch, Tag } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { queryKeys, useApi } from '../../api/context';
import type { MCPServer } from '../../api/types';
import { CopyText } from '../../components/CopyText';
import { DeleteButton } from '../../components/DeleteButton';
import { GatewayOriginField } from '../../components/GatewayOriginField';
import { ConfigListPage } from '../../components/ConfigListPage';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';
import { useGatewayOrigin } from '../../lib/gateway';
import { useDebounced } from '../../lib/useDebounced';
import { CreateMcpServerDialog } from './CreateMcpServerDialog';
import { mcpEndpoints } from './mcp';
import { McpSessionCount } from './McpStatus';

/** McpServersPage lists the MCP servers with their endpoint URLs, and adds new ones. */
export default function McpServersPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const gateway = useGatewayOrigin();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [creating, setCreating] = useState(false);
  const servers = useQuery({
    queryKey: [...queryKeys.mcpServers, 'list', q],
    queryFn: ({ signal }) => api.mcpServers.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const toggle = useMutation({
    mutationFn: (v: { server: MCPServer; enabled: boolean }) =>
      api.mcpServers.update(v.server.name, { ...v.server, enabled: v.enabled }),
    onError: (err) => void message.error(describeError(err, t).message, 8),
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers }),
  });

  return (
    <>
      <ConfigListPage<MCPServer>
        title={t('mcp.title')}
        intro={t('mcp.intro')}
        newLabel={t('mcp.new')}
        onNew={() => setCreating(true)}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('mcp.empty')}
        toolbar={<GatewayOriginField {...gateway} />}
        list={servers}
        columns={[
          {
            title: t('mcp.name'),
            dataIndex: 'name',
            render: (name: string) => (
              <Link to={`/mcp-servers/${encodeURIComponent(name)}`}>{name}</Link>
            ),
          },
          {
            title: t('mcp.enabled'),
            key: 'enabled',
            render: (_, s) => (
              <Switch
                size="small"
                aria-label={t('mcp.enableThing', { name: s.name })}
                checked={s.enabled ?? true}
                loading={toggle.isPending && toggle.variables.server.name === s.name}
                onChange={(enabled) => toggle.mutate({ server: s, enabled })}
              />
            ),
          },
          {
            title: t('mcp.type'),
            key: 'type',
            render: (_, s) => <Tag>{s.type ?? s.server.type ?? 'rest'}</Tag>,
          },
          {
            title: t('mcp.tools'),
            key: 'tools',
            render: (_, s) => s.tools?.length ?? 0,
          },
          {
            title: t('mcp.status.sessions'),
            key: 'sessions',
            render: (_, s) => <McpSessionCount server={s} />,
          },
          {
            title: t('mcp.endpoints'),
            key: 'endpoints',
            render: (_, s) => {
              const ep = mcpEndpoints(gateway.origin, s);
              return (
                <Space orientation="vertical" size={0}>
                  <span>
                    <Tag>{t('mcp.streamable')}</Tag>
                    <CopyText text={ep.streamable} label={t('mcp.streamableUrl')} />
                  </span>
                  <span>
                    <Tag>{t('mcp.sse')}</Tag>
                    <CopyText text={ep.sse} label={t('mcp.sseUrl')} />
                  </span>
                </Space>
              );
            },
          },
          {
            title: t('mcp.auth'),
            key: 'auth',
            render: (_, s) => t(`mcp.authTypes.${s.auth?.type ?? 'none'}`),
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, s) => (
              <Space>
                <Link to={`/mcp-servers/${encodeURIComponent(s.name)}`}>{t('mcp.open')}</Link>
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: s.name })}
                  question={t('mcp.deleteQuestion', { name: s.name })}
                  done={t('mcp.deleted', { name: s.name })}
                  onDelete={async () => {
                    await api.mcpServers.remove(s.name, s.version);
                    await queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers });
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {creating && <CreateMcpServerDialog onClose={() => setCreating(false)} />}
    </>
  );
}
