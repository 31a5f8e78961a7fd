import { App, Col, Form, Input, InputNumber, Row } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { ModelPrice } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import { validateName } from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { useObjectSave } from '../../lib/useObjectSave';
import { validatePriceDate, validatePriceModel } from './priceForm';

/** PriceDrawer adds a model price, or edits `price` when given. */
export function PriceDrawer({ price, onClose }: { price?: ModelPrice; onClose: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<ModelPrice>();
  const editing = price?.name;
  const [version, setVersion] = useState(price?.version);
  const saver = useObjectSave<ModelPrice>({
    client: api.modelPrices,
    queryKey: queryKeys.modelPrices,
    form,
    editing,
    onReloaded: (fresh) => {
      form.resetFields();
      form.setFieldsValue(fresh);
      setVersion(fresh.version);
    },
    onSaved: (saved) => {
      void message.success(t('ai.prices.saved', { name: saved.name }));
      onClose();
    },
  });
  const usd = (name: keyof ModelPrice, label: string, required: boolean) => (
    <Col xs={8}>
      <Form.Item
        name={name}
        label={label}
        rules={required ? [{ required: true, message: t('ai.prices.priceRequired') }] : []}
      >
        <InputNumber style={{ width: '100%' }} min={0} prefix="$" />
      </Form.Item>
    </Col>
  );
  return (
    <EditorDrawer
      title={editing ? t('ai.prices.editTitle', { name: editing }) : t('ai.prices.newTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
    >
      <FormProblems {...saver.problems} />
      <Form<ModelPrice>
        form={form}
        layout="vertical"
        initialValues={
          price ?? { date: new Date().toISOString().slice(0, 10), input: 0, output: 0 }
        }
        onFinish={(v) =>
          saver.save({
            ...v,
            model: v.model.trim(),
            ...(v.cachedInput == null ? { cachedInput: undefined } : {}),
            version,
          })
        }
      >
        <Form.Item name="name" label={t('ai.prices.name')} rules={[rule(t, validateName)]}>
          <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Form.Item
          name="model"
          label={t('ai.prices.model')}
          extra={t('ai.prices.modelHelp')}
          rules={[rule(t, validatePriceModel)]}
        >
          <Input className="gh-mono" autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Row gutter={12}>
          {usd('input', t('ai.prices.input'), true)}
          {usd('output', t('ai.prices.output'), true)}
          {usd('cachedInput', t('ai.prices.cachedInput'), false)}
        </Row>
        <Form.Item name="source" label={t('ai.prices.source')} extra={t('ai.prices.sourceHelp')}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="date" label={t('ai.prices.date')} rules={[rule(t, validatePriceDate)]}>
          <Input placeholder="2026-01-31" autoComplete="off" />
        </Form.Item>
      </Form>
    </EditorDrawer>
  );
}
