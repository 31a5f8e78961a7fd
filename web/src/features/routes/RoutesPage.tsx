import { EditOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Space, Switch, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { queryKeys, useApi } from '../../api/context';
import type { Route } from '../../api/types';
import { CopyText } from '../../components/CopyText';
import { DeleteButton } from '../../components/DeleteButton';
import { GatewayOriginField } from '../../components/GatewayOriginField';
import { ConfigListPage } from '../../components/ConfigListPage';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';
import { gatewayURL, useGatewayOrigin } from '../../lib/gateway';
import { useDebounced } from '../../lib/useDebounced';
import { instancesAt } from '../pluginInstances/plugins';
import { RouteDrawer } from './RouteDrawer';
import { routeExample } from './routeForm';

type Editing = { mode: 'new' } | { mode: 'edit'; route: Route } | null;

/** RoutesPage lists the routes, with search, create, edit, enable/disable and delete. */
export default function RoutesPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const gateway = useGatewayOrigin();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const routes = useQuery({
    queryKey: [...queryKeys.routes, 'list', q],
    queryFn: ({ signal }) => api.routes.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const instances = useQuery({
    queryKey: [...queryKeys.pluginInstances, 'list', ''],
    queryFn: ({ signal }) => api.pluginInstances.list('', signal),
  });
  const toggle = useMutation({
    mutationFn: (v: { route: Route; enabled: boolean }) =>
      api.routes.update(v.route.name, { ...v.route, enabled: v.enabled }),
    onSuccess: (saved) =>
      void message.success(
        t(saved.enabled === false ? 'routes.disabled' : 'routes.enabledNow', { name: saved.name }),
      ),
    onError: (err) => void message.error(describeError(err, t).message, 8),
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.routes }),
  });

  return (
    <>
      <ConfigListPage<Route>
        title={t('routes.title')}
        intro={t('routes.intro')}
        newLabel={t('routes.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('routes.empty')}
        toolbar={<GatewayOriginField {...gateway} />}
        list={routes}
        columns={[
          {
            title: t('routes.name'),
            dataIndex: 'name',
            render: (name: string, r) =>
              r.readOnly ? (
                <Space size={4}>
                  <Typography.Text>{name}</Typography.Text>
                  {r.source?.kind === 'ai-route' && (
                    <Tag color="purple">{t('ai.routes.rowTag')}</Tag>
                  )}
                </Space>
              ) : (
                <Button
                  type="link"
                  style={{ padding: 0 }}
                  onClick={() => setEditing({ mode: 'edit', route: r })}
                >
                  {name}
                </Button>
              ),
          },
          {
            title: t('routes.enabled'),
            key: 'enabled',
            render: (_, r) => (
              <Switch
                size="small"
                aria-label={t('routes.enableThing', { name: r.name })}
                checked={r.enabled ?? true}
                disabled={r.readOnly}
                loading={toggle.isPending && toggle.variables.route.name === r.name}
                onChange={(enabled) => toggle.mutate({ route: r, enabled })}
              />
            ),
          },
          {
            title: t('routes.domains'),
            key: 'domains',
            render: (_, r) =>
              r.domains && r.domains.length > 0 ? (
                <Space size={4} wrap>
                  {r.domains.map((d) => (
                    <Tag key={d}>{d}</Tag>
                  ))}
                </Space>
              ) : (
                <Typography.Text type="secondary">{t('routes.anyHost')}</Typography.Text>
              ),
          },
          {
            title: t('routes.path'),
            key: 'path',
            render: (_, r) => {
              const example = routeExample(r);
              return (
                <Space orientation="vertical" size={0}>
                  <span>
                    <Tag>{t(`routes.pathTypes.${r.path.type}`)}</Tag>
                    <Typography.Text className="gh-mono">{r.path.value}</Typography.Text>
                  </span>
                  {example !== undefined && (r.domains ?? []).length === 0 && (
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      <CopyText
                        text={gatewayURL(gateway.origin, example)}
                        label={t('routes.url')}
                      />
                    </Typography.Text>
                  )}
                </Space>
              );
            },
          },
          {
            title: t('routes.methods'),
            key: 'methods',
            render: (_, r) =>
              r.methods && r.methods.length > 0 ? (
                r.methods.join(', ')
              ) : (
                <Typography.Text type="secondary">{t('routes.anyMethod')}</Typography.Text>
              ),
          },
          {
            title: t('routes.service'),
            dataIndex: 'service',
          },
          {
            title: t('routes.priority'),
            key: 'priority',
            render: (_, r) => r.priority ?? 0,
          },
          {
            title: t('routes.plugins'),
            key: 'plugins',
            render: (_, r) => {
              const list = instancesAt(instances.data?.items ?? [], 'route', r.name);
              return list.length === 0 ? (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ) : (
                <Space size={4} wrap>
                  {list.map((i) => (
                    <Tag key={i.name} color={i.enabled === false ? 'default' : 'green'}>
                      {i.plugin}
                    </Tag>
                  ))}
                </Space>
              );
            },
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, r) =>
              r.readOnly ? (
                r.source?.kind === 'ai-route' && (
                  <Link to={`/ai-routes/${encodeURIComponent(r.source.name)}`}>
                    {t('ai.routes.rowOpen')}
                  </Link>
                )
              ) : (
                <Space>
                  <Button
                    size="small"
                    icon={<EditOutlined />}
                    aria-label={t('config.editThing', { name: r.name })}
                    onClick={() => setEditing({ mode: 'edit', route: r })}
                  />
                  <DeleteButton
                    text
                    label={t('config.deleteThing', { name: r.name })}
                    question={t('routes.deleteQuestion', { name: r.name })}
                    done={t('routes.deleted', { name: r.name })}
                    onDelete={async () => {
                      await api.routes.remove(r.name, r.version);
                      await queryClient.invalidateQueries({ queryKey: queryKeys.routes });
                    }}
                  />
                </Space>
              ),
          },
        ]}
      />
      {editing && (
        <RouteDrawer
          route={editing.mode === 'edit' ? editing.route : undefined}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
