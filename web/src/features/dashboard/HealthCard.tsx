import {
  AppstoreOutlined,
  CheckCircleFilled,
  CloseCircleFilled,
  DatabaseOutlined,
  ExclamationCircleFilled,
  GatewayOutlined,
  MinusCircleOutlined,
  ThunderboltOutlined,
} from '@ant-design/icons';
import { Card, Flex, Tag, Typography, theme } from 'antd';
import type { ReactNode } from 'react';
import type { ComponentKind, ComponentStatus, HealthComponent } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { statusTone } from './status';

const kindIcon: Record<ComponentKind, ReactNode> = {
  database: <DatabaseOutlined />,
  plugin: <AppstoreOutlined />,
  redis: <ThunderboltOutlined />,
  gateway: <GatewayOutlined />,
};

const statusIcon: Record<ComponentStatus, ReactNode> = {
  ok: <CheckCircleFilled />,
  degraded: <ExclamationCircleFilled />,
  down: <CloseCircleFilled />,
  not_configured: <MinusCircleOutlined />,
};

/** HealthCard shows one component's health: green, amber or red, with the reason. */
export function HealthCard({ component }: { component: HealthComponent }) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const accent: Record<ComponentStatus, string> = {
    ok: token.colorSuccess,
    degraded: token.colorWarning,
    down: token.colorError,
    not_configured: token.colorBorder,
  };
  const kind = t(`dashboard.kind.${component.kind}`);
  return (
    <Card
      size="small"
      style={{ height: '100%', borderInlineStart: `4px solid ${accent[component.status]}` }}
      data-testid={`health-${component.kind}-${component.name}`}
    >
      <Flex justify="space-between" align="start" gap={8}>
        <div style={{ minWidth: 0 }}>
          <Typography.Text type="secondary">
            {kindIcon[component.kind]} {kind}
          </Typography.Text>
          <Typography.Title
            level={5}
            style={{ margin: '4px 0' }}
            ellipsis={{ tooltip: component.name }}
          >
            {component.name}
          </Typography.Title>
        </div>
        <Tag
          color={statusTone[component.status]}
          icon={statusIcon[component.status]}
          style={{ marginInlineEnd: 0 }}
        >
          {t(`dashboard.status.${component.status}`)}
        </Tag>
      </Flex>
      <Typography.Paragraph
        type={
          component.status === 'down'
            ? 'danger'
            : component.status === 'degraded'
              ? 'warning'
              : 'secondary'
        }
        style={{ margin: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}
      >
        {component.message || t('dashboard.noMessage')}
      </Typography.Paragraph>
    </Card>
  );
}
