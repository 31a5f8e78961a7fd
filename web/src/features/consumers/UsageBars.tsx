import { Flex, Progress, Space, Typography, theme } from 'antd';
import type { ConsumerUsage } from '../../api/types';
import { useI18n } from '../../i18n/context';
import {
  budgetBar,
  formatDollars,
  formatDollarsLeft,
  formatTokens,
  quotaBar,
  type AllowanceBar,
  type AllowanceLevel,
} from './usage';

const textType: Record<AllowanceLevel, 'warning' | 'danger' | undefined> = {
  ok: undefined,
  low: 'warning',
  out: 'danger',
};

/**
 * AllowanceMeter is one allowance as a bar: what is used of it, what is left
 * this period, in the colour of how much is left.
 */
function AllowanceMeter({
  testId,
  label,
  bar,
  format,
  formatLeft = format,
  period,
  topUp,
  width,
}: {
  testId: string;
  label: string;
  bar: AllowanceBar;
  format: (n: number) => string;
  /** How to show what is left; `format` when absent. */
  formatLeft?: (n: number) => string;
  /** "this month" or "today". */
  period: string;
  topUp: number;
  width: number | string;
}) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const used = t('ai.consumers.usedOf', {
    label,
    used: format(bar.used),
    limit: format(bar.limit),
  });
  return (
    <div data-testid={testId} data-level={bar.level} style={{ width }}>
      <Flex justify="space-between" gap={8} wrap>
        <Typography.Text>{used}</Typography.Text>
        <Typography.Text type={textType[bar.level]} data-testid={`${testId}-left`}>
          {t('ai.consumers.left', { amount: formatLeft(bar.remaining), period })}
        </Typography.Text>
      </Flex>
      <Progress
        percent={bar.percent}
        showInfo={false}
        size="small"
        status={bar.level === 'out' ? 'exception' : 'normal'}
        strokeColor={bar.level === 'low' ? token.colorWarning : undefined}
        aria-label={used}
      />
      {topUp > 0 && (
        <Typography.Text type="secondary" style={{ fontSize: token.fontSizeSM }}>
          {t('ai.consumers.toppedUpBy', { amount: format(topUp) })}
        </Typography.Text>
      )}
    </div>
  );
}

/**
 * UsageBars shows a consumer's budget and quota as bars (spent of budget,
 * tokens used of quota, what is left), or the tokens used when it has
 * neither.
 */
export function UsageBars({
  usage,
  width = 260,
}: {
  usage: Pick<ConsumerUsage, 'budget' | 'quota' | 'totals' | 'period'>;
  width?: number | string;
}) {
  const { t } = useI18n();
  const { budget, quota } = usage;
  if (!budget && !quota) {
    return (
      <Space orientation="vertical" size={0} data-testid="usage-unlimited">
        <span>
          {t('ai.consumers.tokensThisPeriod', {
            tokens: formatTokens(usage.totals.tokens),
            period: t(`ai.consumers.thisPeriod.${usage.period}`),
          })}
        </span>
        <Typography.Text type="secondary">{t('ai.consumers.unlimited')}</Typography.Text>
      </Space>
    );
  }
  return (
    <Space orientation="vertical" size={8}>
      {budget && (
        <AllowanceMeter
          testId="usage-budget"
          label={t('ai.consumers.budgetBar')}
          bar={budgetBar(budget)}
          format={formatDollars}
          formatLeft={formatDollarsLeft}
          period={t(`ai.consumers.thisPeriod.${budget.period}`)}
          topUp={budget.topUpUsd}
          width={width}
        />
      )}
      {quota && (
        <AllowanceMeter
          testId="usage-quota"
          label={t('ai.consumers.quotaBar')}
          bar={quotaBar(quota)}
          format={formatTokens}
          period={t(`ai.consumers.thisPeriod.${quota.period}`)}
          topUp={quota.topUpTokens}
          width={width}
        />
      )}
    </Space>
  );
}
