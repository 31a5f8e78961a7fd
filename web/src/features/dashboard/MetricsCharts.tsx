import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Typography } from 'antd';
import { queryKeys, useApi } from '../../api/context';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { useI18n } from '../../i18n/context';
import { toolCallLines } from './chart';
import { LineChart } from './LineChart';

const refreshMs = 10_000;
function fixed(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** MetricsCharts draws the last hour of traffic, refreshed every 10 s. */
export function MetricsCharts() {
  const { t } = useI18n();
  const api = useApi();
  const series = useQuery({
    queryKey: queryKeys.metricSeries,
    queryFn: ({ signal }) => api.metricSeries(signal),
    refetchInterval: refreshMs,
  });

  let body;
  if (series.isPending) {
    body = <Loading />;
  } else if (series.isError && !series.data) {
    body = <ErrorAlert error={series.error} onRetry={() => void series.refetch()} />;
  } else if (series.data.items.length < 2) {
    body = (
      <Empty
        image={Empty.PRESENTED_IMAGE_SIMPLE}
        description={t('dashboard.charts.collecting', {
          seconds: series.data.intervalSeconds || 10,
        })}
      />
    );
  } else {
    const items = series.data.items;
    const perSecond = (v: number) => t('dashboard.charts.perSecond', { value: fixed(v) });
    const ms = (v: number) => t('dashboard.charts.ms', { value: fixed(v) });
    const tools = toolCallLines(items);
    body = (
      <Row gutter={[24, 16]}>
        <Col xs={24} md={12}>
          <LineChart
            title={t('dashboard.charts.requestRate')}
            format={perSecond}
            lines={[
              {
                key: 'requests',
                label: t('dashboard.charts.requests'),
                color: '#1677ff',
                values: items.map((p) => p.requestRate),
              },
            ]}
          />
        </Col>
        <Col xs={24} md={12}>
          <LineChart
            title={t('dashboard.charts.errorRate')}
            format={perSecond}
            lines={[
              {
                key: 'errors',
                label: t('dashboard.charts.errors'),
                color: '#ff4d4f',
                values: items.map((p) => p.errorRate),
              },
            ]}
          />
        </Col>
        <Col xs={24} md={12}>
          <LineChart
            title={t('dashboard.charts.latency')}
            format={ms}
            lines={[
              { key: 'p50', label: 'p50', color: '#52c41a', values: items.map((p) => p.p50Ms) },
              { key: 'p99', label: 'p99', color: '#fa8c16', values: items.map((p) => p.p99Ms) },
            ]}
          />
        </Col>
        <Col xs={24} md={12}>
          {tools.length === 0 ? (
            <>
              <Typography.Text strong>{t('dashboard.charts.toolCalls')}</Typography.Text>
              <Empty
                image={Empty.PRESENTED_IMAGE_SIMPLE}
                description={t('dashboard.charts.noToolCalls')}
              />
            </>
          ) : (
            <LineChart title={t('dashboard.charts.toolCalls')} format={perSecond} lines={tools} />
          )}
        </Col>
      </Row>
    );
  }

  return (
    <Card size="small" title={t('dashboard.charts.title')}>
      {series.isError && series.data && (
        <div style={{ marginBottom: 12 }}>
          <ErrorAlert type="warning" error={series.error} />
        </div>
      )}
      {body}
    </Card>
  );
}
