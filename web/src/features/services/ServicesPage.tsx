import { EditOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { Service } from '../../api/types';
import { DeleteButton } from '../../components/DeleteButton';
import { ConfigListPage } from '../../components/ConfigListPage';
import { useI18n } from '../../i18n/context';
import { useDebounced } from '../../lib/useDebounced';
import { ServiceDrawer } from './ServiceDrawer';

type Editing = { mode: 'new' } | { mode: 'edit'; service: Service } | null;

/** ServicesPage lists the upstream services, with search, create, edit and delete. */
export default function ServicesPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const services = useQuery({
    queryKey: [...queryKeys.services, 'list', q],
    queryFn: ({ signal }) => api.services.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const routes = useQuery({
    queryKey: [...queryKeys.routes, 'list', ''],
    queryFn: ({ signal }) => api.routes.list('', signal),
  });
  const usedBy = (name: string) =>
    (routes.data?.items ?? []).filter((r) => r.service === name).map((r) => r.name);

  return (
    <>
      <ConfigListPage<Service>
        title={t('services.title')}
        intro={t('services.intro')}
        newLabel={t('services.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('services.empty')}
        list={services}
        columns={[
          {
            title: t('services.name'),
            dataIndex: 'name',
            render: (name: string, s) => (
              <Button
                type="link"
                style={{ padding: 0 }}
                onClick={() => setEditing({ mode: 'edit', service: s })}
              >
                {name}
              </Button>
            ),
          },
          {
            title: t('services.endpoints'),
            key: 'endpoints',
            render: (_, s) => (
              <Space orientation="vertical" size={0}>
                {s.endpoints.map((e) => (
                  <Typography.Text key={e.url} className="gh-mono">
                    {e.url}
                    {s.endpoints.length > 1 && (
                      <Typography.Text type="secondary"> ×{e.weight ?? 1}</Typography.Text>
                    )}
                  </Typography.Text>
                ))}
              </Space>
            ),
          },
          {
            title: t('services.loadBalancer'),
            key: 'lb',
            render: (_, s) => t(`services.lb.${s.loadBalancer ?? 'round-robin'}`),
          },
          {
            title: t('services.timeout'),
            key: 'timeout',
            render: (_, s) => s.timeout ?? '30s',
          },
          {
            title: t('services.healthCheck'),
            key: 'health',
            render: (_, s) =>
              s.healthCheck ? (
                <Tag color="blue" className="gh-mono">
                  {s.healthCheck.path}
                </Tag>
              ) : (
                <Typography.Text type="secondary">{t('services.passiveOnly')}</Typography.Text>
              ),
          },
          {
            title: t('services.usedBy'),
            key: 'usedBy',
            render: (_, s) => {
              const list = usedBy(s.name);
              return list.length === 0 ? (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ) : (
                <Space size={4} wrap>
                  {list.map((r) => (
                    <Tag key={r}>{r}</Tag>
                  ))}
                </Space>
              );
            },
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, s) => (
              <Space>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('config.editThing', { name: s.name })}
                  onClick={() => setEditing({ mode: 'edit', service: s })}
                />
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: s.name })}
                  question={
                    usedBy(s.name).length > 0
                      ? t('services.deleteUsed', {
                          name: s.name,
                          routes: usedBy(s.name).join(', '),
                        })
                      : t('services.deleteQuestion', { name: s.name })
                  }
                  done={t('services.deleted', { name: s.name })}
                  onDelete={async () => {
                    await api.services.remove(s.name, s.version);
                    await queryClient.invalidateQueries({ queryKey: queryKeys.services });
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <ServiceDrawer
          service={editing.mode === 'edit' ? editing.service : undefined}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
