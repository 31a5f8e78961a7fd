import { PlusCircleOutlined, UndoOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Popconfirm,
  Row,
  Segmented,
  Space,
  Statistic,
  Table,
  Typography,
} from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { AllowancePeriod, Consumer, ConsumerUsage } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { SideDrawer } from '../../components/SideDrawer';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';
import { TopUpDialog } from './TopUpDialog';
import { UsageBars } from './UsageBars';
import { defaultPeriod, formatDollars, formatTokens } from './usage';

const periods: AllowancePeriod[] = ['day', 'month'];

/** UsageFigures shows a period's totals: money spent, tokens in and out, requests. */
function UsageFigures({ usage }: { usage: ConsumerUsage }) {
  const { t } = useI18n();
  const figures = [
    { id: 'spent', title: t('ai.consumers.spent'), value: formatDollars(usage.totals.usd) },
    {
      id: 'input',
      title: t('ai.usage.inputTokens'),
      value: formatTokens(usage.totals.inputTokens),
    },
    {
      id: 'output',
      title: t('ai.usage.outputTokens'),
      value: formatTokens(usage.totals.outputTokens),
    },
    { id: 'requests', title: t('ai.usage.requests'), value: formatTokens(usage.totals.requests) },
  ];
  return (
    <Row gutter={[12, 12]}>
      {figures.map((f) => (
        <Col key={f.id} xs={12} md={6}>
          <Card size="small" data-testid={`consumer-usage-${f.id}`}>
            <Statistic title={f.title} value={f.value} />
          </Card>
        </Col>
      ))}
    </Row>
  );
}

/** ModelUsageTable shows a period's figures per model, the most expensive first. */
function ModelUsageTable({ usage }: { usage: ConsumerUsage }) {
  const { t } = useI18n();
  const tokens = (title: string, dataIndex: string) => ({
    title,
    dataIndex,
    align: 'right' as const,
    render: (n: number) => formatTokens(n),
  });
  return (
    <Table
      data-testid="consumer-usage-models"
      rowKey="model"
      size="small"
      pagination={false}
      scroll={{ x: 'max-content' }}
      dataSource={[...usage.models].sort((a, b) => b.usd - a.usd)}
      locale={{
        emptyText: (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={t('ai.consumers.noCalls', {
              period: t(`ai.consumers.thisPeriod.${usage.period}`),
            })}
          />
        ),
      }}
      columns={[
        {
          title: t('ai.usage.model'),
          dataIndex: 'model',
          render: (m: string) => <span className="gh-mono">{m}</span>,
        },
        tokens(t('ai.usage.inputTokens'), 'inputTokens'),
        tokens(t('ai.consumers.cachedInputTokens'), 'cachedInputTokens'),
        tokens(t('ai.usage.outputTokens'), 'outputTokens'),
        tokens(t('ai.usage.requests'), 'requests'),
        {
          title: t('ai.consumers.cost'),
          dataIndex: 'usd',
          align: 'right' as const,
          render: (usd: number) => formatDollars(usd),
        },
      ]}
    />
  );
}

/**
 * ConsumerUsageDrawer is the usage of one consumer in the current day or
 * month: its budget and quota bars, totals, the figures per model, a
 * top-up and a reset that asks first, naming the consumer.
 */
export function ConsumerUsageDrawer({
  consumer,
  onClose,
}: {
  consumer: Consumer;
  onClose: () => void;
}) {
  const { t, formatDateTime } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [period, setPeriod] = useState<AllowancePeriod>(defaultPeriod(consumer));
  const [toppingUp, setToppingUp] = useState(false);
  const name = consumer.name;
  const usage = useQuery({
    queryKey: queryKeys.consumerUsage(name, period),
    queryFn: ({ signal }) => api.consumerUsage(name, period, signal),
    refetchInterval: 10_000,
  });
  const periodText = t(`ai.consumers.thisPeriod.${period}`);
  /** changed shows the answer of a top-up or reset and refreshes every usage view. */
  const changed = async (after: ConsumerUsage) => {
    queryClient.setQueryData(queryKeys.consumerUsage(name, after.period), after);
    await queryClient.invalidateQueries({ queryKey: queryKeys.consumersUsage });
  };
  const reset = async () => {
    try {
      await changed(await api.resetConsumerUsage(name, period));
      void message.success(t('ai.consumers.resetDone', { name, period: periodText }));
    } catch (err) {
      void message.error(describeError(err, t).message, 8);
    }
  };
  const u = usage.data;
  const hasAllowance = Boolean(u && (u.budget || u.quota));

  return (
    <SideDrawer
      title={t('ai.consumers.usageTitle', { name })}
      onClose={onClose}
      width={820}
      extra={
        <Segmented<AllowancePeriod>
          aria-label={t('ai.consumers.periodSwitch')}
          value={period}
          onChange={setPeriod}
          options={periods.map((p) => ({ value: p, label: t(`ai.consumers.periodNames.${p}`) }))}
        />
      }
      footer={
        <Flex justify="flex-end" gap={8}>
          <Popconfirm
            title={t('ai.consumers.resetQuestion', { name, period: periodText })}
            okText={t('ai.consumers.resetConfirm')}
            cancelText={t('common.cancel')}
            okButtonProps={{ danger: true }}
            onConfirm={reset}
          >
            <Button danger icon={<UndoOutlined />} disabled={!u}>
              {t('ai.consumers.resetUsage')}
            </Button>
          </Popconfirm>
          <Button
            type="primary"
            icon={<PlusCircleOutlined />}
            disabled={!hasAllowance}
            title={u && !hasAllowance ? t('ai.consumers.noAllowance') : undefined}
            onClick={() => setToppingUp(true)}
          >
            {t('ai.consumers.topUp')}
          </Button>
        </Flex>
      }
    >
      {usage.isPending && <Loading />}
      {usage.isError && <ErrorAlert error={usage.error} onRetry={() => void usage.refetch()} />}
      {u && (
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          {u.source === 'database' && (
            <Alert type="warning" showIcon title={u.note ?? t('ai.consumers.fromDatabase')} />
          )}
          <Typography.Text type="secondary">
            {formatDateTime(u.periodStart)} – {formatDateTime(u.resetsAt)}
          </Typography.Text>
          <UsageBars usage={u} width="100%" />
          <UsageFigures usage={u} />
          <Card size="small" title={t('ai.consumers.byModel')}>
            <ModelUsageTable usage={u} />
          </Card>
        </Space>
      )}
      {toppingUp && u && (
        <TopUpDialog
          usage={u}
          onClose={() => setToppingUp(false)}
          onDone={(after) => {
            setToppingUp(false);
            void message.success(t('ai.consumers.toppedUp', { name }));
            void changed(after);
          }}
        />
      )}
    </SideDrawer>
  );
}
