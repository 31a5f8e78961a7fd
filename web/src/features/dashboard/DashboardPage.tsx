import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Col, Descriptions, Empty, Row, Space, Typography } from 'antd';
import { queryKeys, useApi } from '../../api/context';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useI18n } from '../../i18n/context';
import { formatDuration } from '../../lib/format';
import { AiUsageTile } from '../ai/AiUsageTile';
import { useNow } from '../../lib/useNow';
import { HealthCard } from './HealthCard';
import { MetricsCharts } from './MetricsCharts';
import { useConfigRevision } from './useConfigRevision';

const refreshMs = 10_000;

const overallType = { ok: 'success', degraded: 'warning', down: 'error' } as const;

/** DashboardPage shows Gatehouse's health at a glance: every component, version and uptime. */
export default function DashboardPage() {
  const { t, formatDateTime, formatTime } = useI18n();
  const api = useApi();
  const health = useQuery({
    queryKey: queryKeys.health,
    queryFn: ({ signal }) => api.health(signal),
    refetchInterval: refreshMs,
  });
  const now = useNow(1000);
  const revision = useConfigRevision();

  if (health.isPending) return <Loading />;
  if (health.isError && !health.data) {
    return (
      <>
        <PageHeader title={t('dashboard.title')} />
        <ErrorAlert error={health.error} onRetry={() => void health.refetch()} />
      </>
    );
  }

  const h = health.data;
  // The server's uptime plus the time since it answered, so it does not
  // depend on the browser's clock agreeing with the server's.
  const uptime = h.uptimeSeconds + Math.max(0, (now - health.dataUpdatedAt) / 1000);

  return (
    <>
      <PageHeader
        title={t('dashboard.title')}
        extra={
          <Typography.Text type="secondary">
            {t('dashboard.updated', { time: formatTime(health.dataUpdatedAt) })}
          </Typography.Text>
        }
      />
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        {health.isError && (
          <ErrorAlert
            type="warning"
            error={health.error}
            title={t('errors.staleData', { time: formatTime(health.dataUpdatedAt) })}
          />
        )}
        <Alert
          type={overallType[h.status]}
          showIcon
          title={t(`dashboard.overall.${h.status}`)}
          data-testid="health-overall"
        />
        <Card size="small">
          <Descriptions
            size="small"
            column={{ xs: 1, sm: 2, lg: 4 }}
            items={[
              {
                key: 'version',
                label: t('dashboard.version'),
                children: <code>{h.version || t('common.none')}</code>,
              },
              { key: 'uptime', label: t('dashboard.uptime'), children: formatDuration(uptime, t) },
              {
                key: 'started',
                label: t('dashboard.startedAt'),
                children: formatDateTime(h.startedAt),
              },
              {
                key: 'revision',
                label: t('dashboard.configRevision'),
                children: (
                  <span data-testid="config-revision">
                    {revision === undefined ? t('common.none') : `#${revision}`}
                  </span>
                ),
              },
            ]}
          />
        </Card>
        <MetricsCharts />
        <AiUsageTile />
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('dashboard.components')}
        </Typography.Title>
        {h.components.length === 0 ? (
          <Empty description={t('dashboard.noComponents')} />
        ) : (
          <Row gutter={[16, 16]}>
            {h.components.map((c) => (
              <Col key={`${c.kind}/${c.name}`} xs={24} md={12} xl={8}>
                <HealthCard component={c} />
              </Col>
            ))}
          </Row>
        )}
      </Space>
    </>
  );
}
