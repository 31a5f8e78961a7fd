import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Segmented, Statistic, Table, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { AIUsage, UsageWindow } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useI18n } from '../../i18n/context';
import { byTokens, formatMs, formatRate, usageTotals } from './usage';

const refreshMs = 10_000;

/** UsageFigures shows the totals of a window: requests, tokens, time to first token, errors. */
function UsageFigures({ usage }: { usage: AIUsage }) {
  const { t } = useI18n();
  const totals = usageTotals(usage);
  const figures = [
    { id: 'requests', title: t('ai.usage.requests'), value: usage.requests },
    { id: 'input', title: t('ai.usage.inputTokens'), value: totals.inputTokens },
    { id: 'output', title: t('ai.usage.outputTokens'), value: totals.outputTokens },
    {
      id: 'ttft-p50',
      title: t('ai.usage.ttftP50'),
      value: t('ai.usage.ms', { ms: formatMs(usage.firstTokenMs.p50) }),
    },
    {
      id: 'ttft-p99',
      title: t('ai.usage.ttftP99'),
      value: t('ai.usage.ms', { ms: formatMs(usage.firstTokenMs.p99) }),
    },
    { id: 'errors', title: t('ai.usage.errors'), value: usage.errors },
    { id: 'fallbacks', title: t('ai.usage.fallbacks'), value: usage.fallbacks },
    ...(usage.cache
      ? [
          { id: 'cache-hits', title: t('ai.usage.cacheHits'), value: usage.cache.hits },
          { id: 'cache-misses', title: t('ai.usage.cacheMisses'), value: usage.cache.misses },
          {
            id: 'cache-hit-rate',
            title: t('ai.usage.cacheHitRate'),
            value: formatRate(usage.cache.hitRate),
          },
        ]
      : []),
  ];
  return (
    <Row gutter={[16, 16]}>
      {figures.map((f) => (
        <Col key={f.id} xs={12} md={8} xl={6} xxl={3}>
          <Card size="small" data-testid={`ai-usage-${f.id}`}>
            <Statistic title={f.title} value={f.value} />
          </Card>
        </Col>
      ))}
    </Row>
  );
}

/** AiUsagePage shows tokens in and out per model and per consumer over the last hour or day. */
export default function AiUsagePage() {
  const { t } = useI18n();
  const api = useApi();
  const [window, setWindow] = useState<UsageWindow>('1h');
  const usage = useQuery({
    queryKey: queryKeys.aiUsage(window),
    queryFn: ({ signal }) => api.aiUsage(window, signal),
    refetchInterval: refreshMs,
  });
  const tokenColumns = [
    { title: t('ai.usage.inputTokens'), dataIndex: 'inputTokens', align: 'right' as const },
    { title: t('ai.usage.outputTokens'), dataIndex: 'outputTokens', align: 'right' as const },
    { title: t('ai.usage.requests'), dataIndex: 'requests', align: 'right' as const },
  ];

  return (
    <>
      <PageHeader
        title={t('ai.usage.title')}
        extra={
          <Segmented<UsageWindow>
            aria-label={t('ai.usage.window')}
            value={window}
            onChange={setWindow}
            options={(['1h', '24h'] as const).map((w) => ({
              value: w,
              label: t(`ai.usage.windows.${w}`),
            }))}
          />
        }
      />
      <Typography.Paragraph type="secondary">{t('ai.usage.intro')}</Typography.Paragraph>
      {usage.isPending && <Loading />}
      {usage.isError && <ErrorAlert error={usage.error} onRetry={() => void usage.refetch()} />}
      {usage.data && (
        <Row gutter={[16, 16]}>
          <Col xs={24}>
            <UsageFigures usage={usage.data} />
          </Col>
          <Col xs={24} xl={12}>
            <Card size="small" title={t('ai.usage.byModel')}>
              <Table
                data-testid="ai-usage-by-model"
                rowKey="model"
                size="small"
                pagination={false}
                dataSource={byTokens(usage.data.byModel)}
                locale={{
                  emptyText: (
                    <Empty description={t('ai.usage.empty')} image={Empty.PRESENTED_IMAGE_SIMPLE} />
                  ),
                }}
                columns={[
                  {
                    title: t('ai.usage.model'),
                    dataIndex: 'model',
                    render: (m: string) => <span className="gh-mono">{m}</span>,
                  },
                  ...tokenColumns,
                  {
                    title: t('ai.usage.errors'),
                    key: 'errors',
                    align: 'right' as const,
                    render: (_: unknown, r: { errors?: number }) => r.errors ?? 0,
                  },
                ]}
              />
            </Card>
          </Col>
          <Col xs={24} xl={12}>
            <Card size="small" title={t('ai.usage.byConsumer')}>
              <Table
                data-testid="ai-usage-by-consumer"
                rowKey="consumer"
                size="small"
                pagination={false}
                dataSource={byTokens(usage.data.byConsumer)}
                locale={{
                  emptyText: (
                    <Empty description={t('ai.usage.empty')} image={Empty.PRESENTED_IMAGE_SIMPLE} />
                  ),
                }}
                columns={[
                  {
                    title: t('ai.usage.consumer'),
                    dataIndex: 'consumer',
                    render: (c: string) =>
                      c === '' ? (
                        <Typography.Text type="secondary">
                          {t('ai.usage.anonymous')}
                        </Typography.Text>
                      ) : (
                        c
                      ),
                  },
                  ...tokenColumns,
                ]}
              />
            </Card>
          </Col>
        </Row>
      )}
    </>
  );
}
