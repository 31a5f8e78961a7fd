import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Flex, List, Switch, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { PluginInstance } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { PluginInstanceDrawer, type ScopePreset } from './PluginInstanceDrawer';
import { instancesAt } from './plugins';
import { useToggleInstance } from './useToggleInstance';

type Editing = { mode: 'new' } | { mode: 'edit'; instance: PluginInstance } | null;

/**
 * AttachedPlugins lists the plugin instances attached at one scope (a
 * route, an MCP server), lets people attach another and edit or switch off
 * those there, and says how many global instances apply as well.
 */
export function AttachedPlugins({ scope }: { scope: ScopePreset }) {
  const { t } = useI18n();
  const api = useApi();
  const [editing, setEditing] = useState<Editing>(null);
  const toggle = useToggleInstance();
  const instances = useQuery({
    queryKey: [...queryKeys.pluginInstances, 'list', ''],
    queryFn: ({ signal }) => api.pluginInstances.list('', signal),
  });
  const all = instances.data?.items ?? [];
  const here = instancesAt(all, scope.type, scope.value);
  const global = scope.type === 'global' ? [] : instancesAt(all, 'global');

  if (instances.isError) {
    return <ErrorAlert error={instances.error} onRetry={() => void instances.refetch()} />;
  }
  return (
    <>
      <List<PluginInstance>
        size="small"
        loading={instances.isPending}
        dataSource={here}
        locale={{ emptyText: t('instances.noneHere') }}
        renderItem={(i) => (
          <List.Item
            actions={[
              <Switch
                key="enabled"
                size="small"
                aria-label={t('instances.enableThing', { name: i.name })}
                checked={i.enabled ?? true}
                onChange={(enabled) => toggle.mutate({ instance: i, enabled })}
              />,
              <Button
                key="edit"
                size="small"
                icon={<EditOutlined />}
                aria-label={t('config.editThing', { name: i.name })}
                onClick={() => setEditing({ mode: 'edit', instance: i })}
              />,
            ]}
          >
            <List.Item.Meta title={i.name} description={i.plugin} />
          </List.Item>
        )}
      />
      <Flex gap={12} align="center" wrap style={{ marginTop: 8 }}>
        <Button icon={<PlusOutlined />} onClick={() => setEditing({ mode: 'new' })}>
          {t('instances.attach')}
        </Button>
        {global.length > 0 && (
          <Typography.Text type="secondary">
            {t('instances.globalAlso', {
              n: global.length,
              names: global.map((g) => g.name).join(', '),
            })}
          </Typography.Text>
        )}
      </Flex>
      {editing && (
        <PluginInstanceDrawer
          instance={editing.mode === 'edit' ? editing.instance : undefined}
          preset={scope}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
