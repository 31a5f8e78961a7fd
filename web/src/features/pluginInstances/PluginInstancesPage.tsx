import { EditOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Space, Switch, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { PluginInstance } from '../../api/types';
import { DeleteButton } from '../../components/DeleteButton';
import { ConfigListPage } from '../../components/ConfigListPage';
import { useI18n } from '../../i18n/context';
import { useDebounced } from '../../lib/useDebounced';
import { PluginInstanceDrawer } from './PluginInstanceDrawer';
import { ScopeTag } from './ScopeTag';
import { useToggleInstance } from './useToggleInstance';

type Editing = { mode: 'new' } | { mode: 'edit'; instance: PluginInstance } | null;

/** PluginInstancesPage lists the configured plugin instances and where they are attached. */
export default function PluginInstancesPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const toggle = useToggleInstance();
  const instances = useQuery({
    queryKey: [...queryKeys.pluginInstances, 'list', q],
    queryFn: ({ signal }) => api.pluginInstances.list(q, signal),
    placeholderData: (prev) => prev,
  });

  return (
    <>
      <ConfigListPage<PluginInstance>
        title={t('instances.title')}
        intro={t('instances.intro')}
        newLabel={t('instances.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('instances.empty')}
        list={instances}
        columns={[
          {
            title: t('instances.name'),
            dataIndex: 'name',
            render: (name: string, i) => (
              <Button
                type="link"
                style={{ padding: 0 }}
                onClick={() => setEditing({ mode: 'edit', instance: i })}
              >
                {name}
              </Button>
            ),
          },
          { title: t('instances.plugin'), dataIndex: 'plugin' },
          {
            title: t('instances.scope'),
            key: 'scope',
            render: (_, i) => <ScopeTag scope={i.scope} />,
          },
          {
            title: t('instances.config'),
            key: 'config',
            render: (_, i) => (
              <Typography.Text
                type="secondary"
                className="gh-mono"
                ellipsis
                style={{ maxWidth: 320 }}
              >
                {Object.keys(i.config ?? {}).join(', ') || t('common.none')}
              </Typography.Text>
            ),
          },
          {
            title: t('instances.enabled'),
            key: 'enabled',
            render: (_, i) => (
              <Switch
                size="small"
                aria-label={t('instances.enableThing', { name: i.name })}
                checked={i.enabled ?? true}
                loading={toggle.isPending && toggle.variables.instance.name === i.name}
                onChange={(enabled) => toggle.mutate({ instance: i, enabled })}
              />
            ),
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, i) => (
              <Space>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('config.editThing', { name: i.name })}
                  onClick={() => setEditing({ mode: 'edit', instance: i })}
                />
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: i.name })}
                  question={t('instances.deleteQuestion', { name: i.name })}
                  done={t('instances.deleted', { name: i.name })}
                  onDelete={async () => {
                    await api.pluginInstances.remove(i.name, i.version);
                    await queryClient.invalidateQueries({ queryKey: queryKeys.pluginInstances });
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <PluginInstanceDrawer
          instance={editing.mode === 'edit' ? editing.instance : undefined}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
