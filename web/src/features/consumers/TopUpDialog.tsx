import { useMutation } from '@tanstack/react-query';
import { Form, InputNumber, Modal, Typography } from 'antd';
import { useApi } from '../../api/context';
import type { ConsumerUsage } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { rule, useFormFailure } from '../../lib/forms';
import {
  formatDollarsLeft,
  formatTokens,
  topUpRequest,
  validateTopUpTokens,
  validateTopUpUsd,
  type TopUpValues,
} from './usage';

const fields = ['usd', 'tokens'] as const;

/**
 * TopUpDialog adds dollars to a consumer's budget and/or tokens to its quota
 * for the current period. Amounts must be above 0; what the API refuses is
 * shown under the field it names. `onDone` gets the usage after the top-up.
 */
export function TopUpDialog({
  usage,
  onClose,
  onDone,
}: {
  usage: ConsumerUsage;
  onClose: () => void;
  onDone: (after: ConsumerUsage) => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const [form] = Form.useForm<TopUpValues>();
  const failure = useFormFailure(form, fields);
  const topUp = useMutation({
    mutationFn: (req: { usd?: number; tokens?: number }) => api.topUpConsumer(usage.consumer, req),
    onSuccess: onDone,
    onError: (err) => failure.report(err),
  });
  const { budget, quota } = usage;

  return (
    <Modal
      open
      title={t('ai.consumers.topUpTitle', { name: usage.consumer })}
      okText={t('ai.consumers.topUp')}
      cancelText={t('common.cancel')}
      confirmLoading={topUp.isPending}
      onOk={() => form.submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t('ai.consumers.topUpIntro')}</Typography.Paragraph>
      {failure.failure && (
        <div style={{ marginBottom: 16 }}>
          <ErrorAlert error={failure.failure.error} details={failure.failure.details} />
        </div>
      )}
      <Form<TopUpValues>
        form={form}
        layout="vertical"
        onFinish={(v) => {
          failure.clear();
          const req = topUpRequest(v);
          if (!req) {
            form.setFields([
              { name: budget ? 'usd' : 'tokens', errors: [t('ai.consumers.topUpNothing')] },
            ]);
            return;
          }
          topUp.mutate(req);
        }}
      >
        {budget && (
          <Form.Item
            name="usd"
            label={t('ai.consumers.topUpUsd')}
            extra={t('ai.consumers.left', {
              amount: formatDollarsLeft(budget.remainingUsd),
              period: t(`ai.consumers.thisPeriod.${budget.period}`),
            })}
            rules={[rule(t, validateTopUpUsd)]}
          >
            <InputNumber style={{ width: '100%' }} prefix="$" step={1} autoFocus />
          </Form.Item>
        )}
        {quota && (
          <Form.Item
            name="tokens"
            label={t('ai.consumers.topUpTokens')}
            extra={t('ai.consumers.left', {
              amount: formatTokens(quota.remainingTokens),
              period: t(`ai.consumers.thisPeriod.${quota.period}`),
            })}
            rules={[rule(t, validateTopUpTokens)]}
          >
            <InputNumber style={{ width: '100%' }} step={1000} autoFocus={!budget} />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
