import { useMutation } from '@tanstack/react-query';
import { Form, InputNumber, Modal, Typography, type InputNumberProps } from 'antd';
import { useApi } from '../../api/context';
import type { AllowancePeriod, ConsumerUsage } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { rule, useFormFailure } from '../../lib/forms';
import type { Problem } from '../../lib/validation';
import {
  formatDollarsLeft,
  formatTokens,
  topUpRequest,
  validateTopUpTokens,
  validateTopUpUsd,
  type TopUpValues,
} from './usage';

const fields = ['usd', 'tokens'] as const;

/** AmountItem is one amount to add, with what is left of it this period under it. */
function AmountItem({
  name,
  label,
  left,
  period,
  validate,
  input,
}: {
  name: (typeof fields)[number];
  label: string;
  left: string;
  period: AllowancePeriod;
  validate: (v: number | null | undefined) => Problem | undefined;
  input: InputNumberProps;
}) {
  const { t } = useI18n();
  return (
    <Form.Item
      name={name}
      label={label}
      extra={t('ai.consumers.left', {
        amount: left,
        period: t(`ai.consumers.thisPeriod.${period}`),
      })}
      rules={[rule(t, validate)]}
    >
      <InputNumber style={{ width: '100%' }} {...input} />
    </Form.Item>
  );
}

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
          <AmountItem
            name="usd"
            label={t('ai.consumers.topUpUsd')}
            left={formatDollarsLeft(budget.remainingUsd)}
            period={budget.period}
            validate={validateTopUpUsd}
            input={{ prefix: '$', step: 1, autoFocus: true }}
          />
        )}
        {quota && (
          <AmountItem
            name="tokens"
            label={t('ai.consumers.topUpTokens')}
            left={formatTokens(quota.remainingTokens)}
            period={quota.period}
            validate={validateTopUpTokens}
            input={{ step: 1000, autoFocus: !budget }}
          />
        )}
      </Form>
    </Modal>
  );
}
