import { useQuery } from '@tanstack/react-query';
import { App, Col, Divider, Form, Input, InputNumber, Row, Select } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { AllowancePeriod, Consumer } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import { validateName } from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { useObjectSave } from '../../lib/useObjectSave';
import {
  consumerToForm,
  emptyConsumer,
  formToConsumer,
  validateBudgetUsd,
  validateLabels,
  validateQuotaTokens,
  type ConsumerFormValues,
} from './consumerForm';

const periods: AllowancePeriod[] = ['day', 'month'];

/**
 * ConsumerDrawer creates a consumer, or edits `consumer` when given. A new
 * consumer's generated key goes to `onKey`, to be shown once.
 */
export function ConsumerDrawer({
  consumer,
  onClose,
  onKey,
}: {
  consumer?: Consumer;
  onClose: () => void;
  onKey: (name: string, key: string, expiresAt?: string) => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<ConsumerFormValues>();
  const editing = consumer?.name;
  const [stored, setStored] = useState(consumer);
  const routes = useQuery({
    queryKey: [...queryKeys.aiRoutes, 'list', ''],
    queryFn: ({ signal }) => api.aiRoutes.list('', signal),
  });
  const saver = useObjectSave<Consumer>({
    client: api.consumers,
    queryKey: queryKeys.consumers,
    form,
    editing,
    onReloaded: (fresh) => {
      form.resetFields();
      form.setFieldsValue(consumerToForm(fresh));
      setStored(fresh);
    },
    onSaved: (saved) => {
      void message.success(
        t(editing ? 'ai.consumers.updated' : 'ai.consumers.created', { name: saved.name }),
      );
      const shown = saved.credentials.find((c) => c.key);
      if (!editing && shown?.key) onKey(saved.name, shown.key, shown.expiresAt);
      onClose();
    },
  });
  const periodOptions = periods.map((p) => ({ value: p, label: t(`ai.consumers.periods.${p}`) }));

  return (
    <EditorDrawer
      title={editing ? t('ai.consumers.editTitle', { name: editing }) : t('ai.consumers.newTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
    >
      <FormProblems {...saver.problems} />
      <Form<ConsumerFormValues>
        form={form}
        layout="vertical"
        initialValues={consumer ? consumerToForm(consumer) : emptyConsumer()}
        scrollToFirstError
        onFinish={(v) => saver.save(formToConsumer(v, stored))}
      >
        <Form.Item
          name="name"
          label={t('ai.consumers.name')}
          extra={t('ai.consumers.nameHelp')}
          rules={[rule(t, validateName)]}
        >
          <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Form.Item
          name="labels"
          label={t('ai.consumers.labels')}
          extra={t('ai.consumers.labelsHelp')}
          rules={[rule(t, validateLabels)]}
        >
          <Select mode="tags" tokenSeparators={[',']} open={false} />
        </Form.Item>
        <Form.Item
          name="allowedModels"
          label={t('ai.consumers.allowedModels')}
          extra={t('ai.consumers.allowedModelsHelp')}
        >
          <Select mode="tags" tokenSeparators={[',', ' ']} open={false} />
        </Form.Item>
        <Form.Item
          name="allowedAiRoutes"
          label={t('ai.consumers.allowedAiRoutes')}
          extra={t('ai.consumers.allowedAiRoutesHelp')}
        >
          <Select
            mode="multiple"
            loading={routes.isPending}
            options={(routes.data?.items ?? []).map((r) => ({ value: r.name, label: r.name }))}
          />
        </Form.Item>
        <Divider titlePlacement="start" plain>
          {t('ai.consumers.allowances')}
        </Divider>
        <Row gutter={16}>
          <Col xs={14}>
            <Form.Item
              name="quotaTokens"
              label={t('ai.consumers.quotaTokens')}
              extra={t('ai.consumers.emptyMeansNone')}
              rules={[rule(t, validateQuotaTokens)]}
            >
              <InputNumber style={{ width: '100%' }} min={1} precision={0} />
            </Form.Item>
          </Col>
          <Col xs={10}>
            <Form.Item name="quotaPeriod" label={t('ai.consumers.period')}>
              <Select options={periodOptions} />
            </Form.Item>
          </Col>
          <Col xs={14}>
            <Form.Item
              name="budgetUsd"
              label={t('ai.consumers.budgetUsd')}
              extra={t('ai.consumers.emptyMeansNone')}
              rules={[rule(t, validateBudgetUsd)]}
            >
              <InputNumber style={{ width: '100%' }} min={0.01} step={1} prefix="$" />
            </Form.Item>
          </Col>
          <Col xs={10}>
            <Form.Item name="budgetPeriod" label={t('ai.consumers.period')}>
              <Select options={periodOptions} />
            </Form.Item>
          </Col>
        </Row>
      </Form>
    </EditorDrawer>
  );
}
