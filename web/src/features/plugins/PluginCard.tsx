import {
  CheckCircleFilled,
  CloseCircleFilled,
  EditOutlined,
  MinusCircleOutlined,
} from '@ant-design/icons';
import { Alert, Button, Card, Descriptions, Flex, Grid, Space, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import type { Plugin, PluginInstance, PluginStatus } from '../../api/types';
import { ScopeTag } from '../pluginInstances/ScopeTag';
import { useI18n } from '../../i18n/context';

const statusLook: Record<PluginStatus, { color: string; icon: ReactNode }> = {
  verified: { color: 'success', icon: <CheckCircleFilled /> },
  failed: { color: 'error', icon: <CloseCircleFilled /> },
  not_loaded: { color: 'default', icon: <MinusCircleOutlined /> },
};

/** PluginCard shows one plugin: its artifact, verification and image address. */
export function PluginCard({
  plugin,
  instances,
  onEdit,
}: {
  plugin: Plugin;
  /** The instances of this plugin, shown with where they are attached. */
  instances: PluginInstance[];
  onEdit: () => void;
}) {
  const { t } = useI18n();
  const none = t('common.none');
  const look = statusLook[plugin.status];
  // Labels beside values from the sm breakpoint up, above them on phones.
  const wide = Grid.useBreakpoint().sm !== false;
  return (
    <Card
      data-testid={`plugin-${plugin.name}`}
      title={
        <Space wrap>
          <span>{plugin.name}</span>
          <Tag>{plugin.required ? t('plugins.required') : t('plugins.optional')}</Tag>
        </Space>
      }
      extra={
        <Flex gap={8} align="center" wrap>
          <Tag color={look.color} icon={look.icon} style={{ marginInlineEnd: 0 }}>
            {t(`plugins.status.${plugin.status}`)}
          </Tag>
          {plugin.restartRequired && (
            <Tag color="warning" style={{ marginInlineEnd: 0 }}>
              {t('plugins.restartRequired')}
            </Tag>
          )}
        </Flex>
      }
    >
      <Space orientation="vertical" size={12} style={{ width: '100%' }}>
        {plugin.description && (
          <Typography.Text type="secondary">{plugin.description}</Typography.Text>
        )}
        {plugin.error && (
          <Alert
            type="error"
            showIcon
            title={t('plugins.verificationError')}
            description={
              <span style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                {plugin.error}
              </span>
            }
          />
        )}
        {plugin.restartRequired && (
          <Alert type="warning" showIcon title={t('plugins.restartRequiredHint')} />
        )}
        <Descriptions
          size="small"
          column={1}
          layout={wide ? 'horizontal' : 'vertical'}
          styles={wide ? { label: { width: 160 } } : undefined}
          items={[
            {
              key: 'imageAddress',
              label: t('plugins.imageAddress'),
              children: (
                <Flex gap={8} align="center" wrap style={{ minWidth: 0 }}>
                  <Typography.Text code className="gh-mono" style={{ wordBreak: 'break-all' }}>
                    {plugin.imageAddress || none}
                  </Typography.Text>
                  <Button size="small" icon={<EditOutlined />} onClick={onEdit}>
                    {t('plugins.edit')}
                  </Button>
                </Flex>
              ),
            },
            {
              key: 'path',
              label: t('plugins.path'),
              children: (
                <Typography.Text className="gh-mono" style={{ wordBreak: 'break-all' }}>
                  {plugin.path || none}
                </Typography.Text>
              ),
            },
            {
              key: 'instances',
              label: t('plugins.instances'),
              children:
                instances.length === 0 ? (
                  none
                ) : (
                  <Flex gap={4} wrap>
                    {instances.map((i) => (
                      <Link key={i.name} to="/plugin-instances" title={i.name}>
                        <ScopeTag scope={i.scope} />
                      </Link>
                    ))}
                  </Flex>
                ),
            },
            { key: 'version', label: t('plugins.version'), children: plugin.version || none },
            { key: 'abi', label: t('plugins.abiVersion'), children: plugin.abiVersion || none },
            { key: 'phase', label: t('plugins.phase'), children: plugin.phase || none },
            {
              key: 'sha256',
              label: t('plugins.sha256'),
              children: plugin.sha256 ? (
                <Typography.Text
                  className="gh-mono"
                  copyable={{ text: plugin.sha256 }}
                  style={{ wordBreak: 'break-all' }}
                >
                  {plugin.sha256}
                </Typography.Text>
              ) : (
                none
              ),
            },
          ]}
        />
      </Space>
    </Card>
  );
}
