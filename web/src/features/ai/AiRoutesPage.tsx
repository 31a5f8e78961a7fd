import { EditOutlined, MessageOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Space, Switch, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { queryKeys, useApi } from '../../api/context';
import type { AIRoute } from '../../api/types';
import { ConfigListPage } from '../../components/ConfigListPage';
import { CopyText } from '../../components/CopyText';
import { DeleteButton } from '../../components/DeleteButton';
import { GatewayOriginField } from '../../components/GatewayOriginField';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';
import { useGatewayOrigin } from '../../lib/gateway';
import { useDebounced } from '../../lib/useDebounced';
import { AiRouteDrawer } from './AiRouteDrawer';
import { aiBaseURL } from './snippets';

type Editing = { mode: 'new' } | { mode: 'edit'; route: AIRoute } | null;

/** AiRoutesPage lists the AI routes, with search, create, edit, enable/disable, try and delete. */
export default function AiRoutesPage() {
  const { t } = useI18n();
  const api = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const gateway = useGatewayOrigin();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const routes = useQuery({
    queryKey: [...queryKeys.aiRoutes, 'list', q],
    queryFn: ({ signal }) => api.aiRoutes.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const toggle = useMutation({
    mutationFn: (v: { route: AIRoute; enabled: boolean }) =>
      api.aiRoutes.update(v.route.name, { ...v.route, enabled: v.enabled }),
    onSuccess: (saved) =>
      void message.success(
        t(saved.enabled === false ? 'ai.routes.disabled' : 'ai.routes.enabledNow', {
          name: saved.name,
        }),
      ),
    onError: (err) => void message.error(describeError(err, t).message, 8),
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.aiRoutes }),
  });

  return (
    <>
      <ConfigListPage<AIRoute>
        title={t('ai.routes.title')}
        intro={t('ai.routes.intro')}
        newLabel={t('ai.routes.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('ai.routes.empty')}
        toolbar={<GatewayOriginField {...gateway} />}
        list={routes}
        columns={[
          {
            title: t('ai.routes.name'),
            dataIndex: 'name',
            render: (name: string) => (
              <Link to={`/ai-routes/${encodeURIComponent(name)}`}>{name}</Link>
            ),
          },
          {
            title: t('ai.routes.enabled'),
            key: 'enabled',
            render: (_, r) => (
              <Switch
                size="small"
                aria-label={t('ai.routes.enableThing', { name: r.name })}
                checked={r.enabled ?? true}
                loading={toggle.isPending && toggle.variables.route.name === r.name}
                onChange={(enabled) => toggle.mutate({ route: r, enabled })}
              />
            ),
          },
          {
            title: t('ai.routes.baseUrl'),
            key: 'base',
            render: (_, r) => (
              <Space orientation="vertical" size={0}>
                {(r.domains ?? []).length > 0 && (
                  <Space size={4} wrap>
                    {(r.domains ?? []).map((d) => (
                      <Tag key={d}>{d}</Tag>
                    ))}
                  </Space>
                )}
                <CopyText
                  text={`${aiBaseURL(gateway.origin, r.pathPrefix)}/v1`}
                  label={t('ai.routes.baseUrl')}
                />
              </Space>
            ),
          },
          {
            title: t('ai.routes.upstreams'),
            key: 'upstreams',
            render: (_, r) => (
              <Space size={4} wrap>
                {r.upstreams.map((u) => (
                  <Tag key={u.provider}>
                    {u.provider}
                    {r.upstreams.length > 1 && ` ×${u.weight ?? 1}`}
                  </Tag>
                ))}
                {r.fallbackConfig?.enabled &&
                  (r.fallbackConfig.upstreams ?? []).map((u) => (
                    <Tag key={`fallback-${u.provider}`} color="orange">
                      ↪ {u.provider}
                    </Tag>
                  ))}
              </Space>
            ),
          },
          {
            title: t('ai.routes.models'),
            key: 'models',
            render: (_, r) =>
              (r.modelPredicates ?? []).length === 0 ? (
                <Typography.Text type="secondary">{t('ai.routes.everyModel')}</Typography.Text>
              ) : (
                <Space size={4} wrap>
                  {(r.modelPredicates ?? []).map((p) => (
                    <Tag key={`${p.matchType}:${p.matchValue}`} className="gh-mono">
                      {p.matchType === 'PRE'
                        ? `${p.matchValue}*`
                        : p.matchType === 'REGULAR'
                          ? `~${p.matchValue}`
                          : p.matchValue}
                    </Tag>
                  ))}
                </Space>
              ),
          },
          {
            title: t('ai.routes.auth'),
            key: 'auth',
            render: (_, r) =>
              r.authConfig?.enabled ? (
                <Tag color="blue">{t('ai.routes.keyRequired')}</Tag>
              ) : (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ),
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, r) => (
              <Space>
                <Button
                  size="small"
                  icon={<MessageOutlined />}
                  aria-label={t('ai.routes.open', { name: r.name })}
                  onClick={() => void navigate(`/ai-routes/${encodeURIComponent(r.name)}`)}
                >
                  {t('ai.routes.tryIt')}
                </Button>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('config.editThing', { name: r.name })}
                  onClick={() => setEditing({ mode: 'edit', route: r })}
                />
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: r.name })}
                  question={t('ai.routes.deleteQuestion', { name: r.name })}
                  done={t('ai.routes.deleted', { name: r.name })}
                  onDelete={async () => {
                    await api.aiRoutes.remove(r.name, r.version);
                    await queryClient.invalidateQueries({ queryKey: queryKeys.aiRoutes });
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <AiRouteDrawer
          route={editing.mode === 'edit' ? editing.route : undefined}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
