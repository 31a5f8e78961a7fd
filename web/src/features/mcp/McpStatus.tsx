import { useQuery } from '@tanstack/react-query';
import { Alert, Descriptions, Tooltip, Typography } from 'antd';
import { queryKeys, useApi } from '../../api/context';
import type { MCPServer } from '../../api/types';
import { useI18n } from '../../i18n/context';

const refreshMs = 10_000;

/** useMcpStatus follows an enabled MCP server's live status; a disabled one has none. */
function useMcpStatus(server: MCPServer) {
  const api = useApi();
  const enabled = server.enabled ?? true;
  return useQuery({
    queryKey: queryKeys.mcpStatus(server.name),
    queryFn: ({ signal }) => api.mcpStatus(server.name, signal),
    enabled,
    refetchInterval: refreshMs,
    retry: false,
  });
}

/** McpSessionCount is the active session count of a list row, "—" when not running. */
export function McpSessionCount({ server }: { server: MCPServer }) {
  const { t } = useI18n();
  const status = useMcpStatus(server);
  if (!(server.enabled ?? true)) return <>{t('common.none')}</>;
  if (status.isError) {
    return (
      <Tooltip title={t('mcp.status.unavailable')}>
        <span>{t('common.none')}</span>
      </Tooltip>
    );
  }
  if (!status.data) return <>{t('common.none')}</>;
  const s = status.data;
  return (
    <span data-testid={`mcp-sessions-${server.name}`}>
      {s.sessions}
      {s.lastError ? (
        <Tooltip title={s.lastError}>
          <Typography.Text type="danger"> {t('mcp.status.errorMark')}</Typography.Text>
        </Tooltip>
      ) : null}
    </span>
  );
}

/** McpStatusPanel shows an MCP server's sessions, tools and last error on its page. */
export function McpStatusPanel({ server }: { server: MCPServer }) {
  const { t, formatDateTime } = useI18n();
  const status = useMcpStatus(server);
  if (!(server.enabled ?? true)) return null;
  if (status.isError) {
    return (
      <Typography.Paragraph type="secondary">{t('mcp.status.unavailable')}</Typography.Paragraph>
    );
  }
  if (!status.data) return null;
  const s = status.data;
  return (
    <>
      <Descriptions
        size="small"
        column={{ xs: 1, sm: 3 }}
        items={[
          {
            key: 'sessions',
            label: t('mcp.status.sessions'),
            children: <span data-testid="mcp-active-sessions">{s.sessions}</span>,
          },
          {
            key: 'tools',
            label: t('mcp.status.tools'),
            children: s.tools < 0 ? t('mcp.status.toolsUnknown') : s.tools,
          },
        ]}
      />
      {s.lastError && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 12 }}
          title={t('mcp.status.lastError', {
            time: s.lastErrorAt ? formatDateTime(s.lastErrorAt) : t('common.none'),
          })}
          description={s.lastError}
        />
      )}
    </>
  );
}
