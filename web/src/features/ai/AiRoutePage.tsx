import { ArrowLeftOutlined, EditOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Descriptions, Flex, Result, Space, Tabs, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { isApiError } from '../../api/client';
import { queryKeys, useApi } from '../../api/context';
import type { AIRoute } from '../../api/types';
import { CopyText } from '../../components/CopyText';
import { ErrorAlert } from '../../components/ErrorAlert';
import { GatewayOriginField } from '../../components/GatewayOriginField';
import { Loading } from '../../components/Loading';
import { useI18n } from '../../i18n/context';
import { useGatewayOrigin } from '../../lib/gateway';
import { AiRouteDrawer } from './AiRouteDrawer';
import { suggestedModel } from './aiRouteForm';
import { aiBaseURL } from './snippets';
import { SnippetsPanel } from './SnippetsPanel';
import { TryItPanel } from './TryItPanel';

/** AiRoutePage is one AI route: a chat to try it through the gateway, and how clients connect. */
export default function AiRoutePage() {
  const { t } = useI18n();
  const api = useApi();
  const { name = '' } = useParams();
  const route = useQuery({
    queryKey: [...queryKeys.aiRoutes, 'one', name],
    queryFn: ({ signal }) => api.aiRoutes.get(name, signal),
  });

  if (route.isPending) return <Loading />;
  if (route.isError) {
    if (isApiError(route.error) && route.error.status === 404) {
      return (
        <Result
          status="404"
          title={t('ai.routes.notFound', { name })}
          extra={
            <Link to="/ai-routes">
              <Button type="primary">{t('ai.routes.back')}</Button>
            </Link>
          }
        />
      );
    }
    return <ErrorAlert error={route.error} onRetry={() => void route.refetch()} />;
  }
  return <RouteView route={route.data} />;
}

function RouteView({ route }: { route: AIRoute }) {
  const { t } = useI18n();
  const gateway = useGatewayOrigin();
  const [params, setParams] = useSearchParams();
  const [editing, setEditing] = useState(false);
  const tab = params.get('tab') === 'connect' ? 'connect' : 'try';
  const base = aiBaseURL(gateway.origin, route.pathPrefix);
  const model = suggestedModel(route);

  return (
    <>
      <Flex justify="space-between" align="center" wrap gap={12} style={{ marginBottom: 16 }}>
        <Space align="center" wrap>
          <Link to="/ai-routes" aria-label={t('ai.routes.back')}>
            <ArrowLeftOutlined />
          </Link>
          <Typography.Title level={3} style={{ margin: 0 }}>
            {route.name}
          </Typography.Title>
          {route.authConfig?.enabled && <Tag color="blue">{t('ai.routes.keyRequired')}</Tag>}
        </Space>
        <Button icon={<EditOutlined />} onClick={() => setEditing(true)}>
          {t('ai.routes.edit')}
        </Button>
      </Flex>
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        {route.enabled === false && (
          <Alert type="warning" showIcon title={t('ai.routes.disabledHint')} />
        )}
        <GatewayOriginField {...gateway} />
        <Descriptions
          bordered
          size="small"
          column={1}
          items={[
            {
              key: 'base',
              label: t('ai.routes.baseUrl'),
              children: <CopyText text={`${base}/v1`} label={t('ai.routes.baseUrl')} />,
            },
            {
              key: 'providers',
              label: t('ai.routes.upstreams'),
              children: (
                <Space size={4} wrap>
                  {route.upstreams.map((u) => (
                    <Tag key={u.provider}>{u.provider}</Tag>
                  ))}
                </Space>
              ),
            },
            {
              key: 'domains',
              label: t('ai.routes.domains'),
              children:
                (route.domains ?? []).length > 0
                  ? (route.domains ?? []).join(', ')
                  : t('ai.routes.anyHost'),
            },
          ]}
        />
        <Tabs
          activeKey={tab}
          onChange={(k) => setParams(k === 'try' ? {} : { tab: k }, { replace: true })}
          items={[
            {
              key: 'try',
              label: t('ai.routes.tryIt'),
              children: (
                <TryItPanel
                  origin={gateway.origin}
                  pathPrefix={route.pathPrefix}
                  defaultModel={model}
                />
              ),
            },
            {
              key: 'connect',
              label: t('ai.routes.connect'),
              children: <SnippetsPanel base={base} model={model} />,
            },
          ]}
        />
      </Space>
      {editing && <AiRouteDrawer route={route} onClose={() => setEditing(false)} />}
    </>
  );
}
