import { useQuery } from '@tanstack/react-query';
import { Card, Col, Row, Statistic, Typography } from 'antd';
import { Link } from 'react-router';
import { queryKeys, useApi } from '../../api/context';
import { useI18n } from '../../i18n/context';
import { formatMs, formatRate, usageTotals } from './usage';

/**
 * AiUsageTile is the dashboard's view of AI traffic in the last hour:
 * requests, tokens in and out, time to first token, with a link to the
 * usage page. A Gatehouse without AI usage says so in one quiet line.
 */
export function AiUsageTile() {
  const { t } = useI18n();
  const api = useApi();
  const usage = useQuery({
    queryKey: queryKeys.aiUsage('1h'),
    queryFn: ({ signal }) => api.aiUsage('1h', signal),
    refetchInterval: 10_000,
  });
  const u = usage.data;
  const totals = u ? usageTotals(u) : undefined;
  return (
    <Card
      size="small"
      title={t('ai.usage.tileTitle')}
      extra={<Link to="/ai-usage">{t('ai.usage.tileLink')}</Link>}
      loading={usage.isPending}
      data-testid="ai-usage-tile"
    >
      {!u || !totals ? (
        <Typography.Text type="secondary">{t('ai.usage.tileUnavailable')}</Typography.Text>
      ) : (
        <Row gutter={16}>
          <Col xs={12} md={u.cache ? 4 : 6}>
            <Statistic title={t('ai.usage.requests')} value={u.requests} />
          </Col>
          <Col xs={12} md={u.cache ? 4 : 6}>
            <Statistic title={t('ai.usage.inputTokens')} value={totals.inputTokens} />
          </Col>
          <Col xs={12} md={u.cache ? 4 : 6}>
            <Statistic title={t('ai.usage.outputTokens')} value={totals.outputTokens} />
          </Col>
          <Col xs={12} md={u.cache ? 4 : 6}>
            <Statistic
              title={t('ai.usage.ttftP50')}
              value={t('ai.usage.ms', { ms: formatMs(u.firstTokenMs.p50) })}
            />
          </Col>
          {u.cache && (
            <Col xs={12} md={4}>
              <Statistic
                title={t('ai.usage.cacheHitRate')}
                value={formatRate(u.cache.hitRate)}
                data-testid="ai-usage-tile-cache-hit-rate"
              />
            </Col>
          )}
        </Row>
      )}
    </Card>
  );
}
