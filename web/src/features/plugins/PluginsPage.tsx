import { useQuery } from '@tanstack/react-query';
import { Empty, Space, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { Plugin } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useI18n } from '../../i18n/context';
import { ImageAddressDialog } from './ImageAddressDialog';
import { PluginCard } from './PluginCard';

/** PluginsPage lists the plugin artifacts, their verification and image addresses. */
export default function PluginsPage() {
  const { t } = useI18n();
  const api = useApi();
  const [editing, setEditing] = useState<Plugin | null>(null);
  const plugins = useQuery({
    queryKey: queryKeys.plugins,
    queryFn: ({ signal }) => api.plugins(signal),
  });
  const instances = useQuery({
    queryKey: [...queryKeys.pluginInstances, 'list', ''],
    queryFn: ({ signal }) => api.pluginInstances.list('', signal),
  });

  return (
    <>
      <PageHeader title={t('plugins.title')} />
      <Typography.Paragraph type="secondary">{t('plugins.intro')}</Typography.Paragraph>
      {plugins.isPending ? (
        <Loading />
      ) : plugins.isError ? (
        <ErrorAlert error={plugins.error} onRetry={() => void plugins.refetch()} />
      ) : plugins.data.items.length === 0 ? (
        <Empty description={t('plugins.empty')} />
      ) : (
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          {plugins.data.items.map((p) => (
            <PluginCard
              key={p.name}
              plugin={p}
              instances={(instances.data?.items ?? []).filter((i) => i.plugin === p.name)}
              onEdit={() => setEditing(p)}
            />
          ))}
        </Space>
      )}
      {editing && <ImageAddressDialog plugin={editing} onClose={() => setEditing(null)} />}
    </>
  );
}
