import { App, Col, Divider, Form, Input, InputNumber, Row, Select, Switch } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import { llmProviderTypes, maskedToken, type LLMProvider } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import { validateEndpointURL, validateName } from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { useObjectSave } from '../../lib/useObjectSave';
import {
  emptyProvider,
  formToProvider,
  isRawConfigsValid,
  providerToForm,
  providerTypeLabels,
  type ProviderFormValues,
} from './providerForm';
import { TokensInput } from './TokensInput';

/** ProviderDrawer creates an LLM provider, or edits `provider` when given. */
export function ProviderDrawer({
  provider,
  onClose,
}: {
  provider?: LLMProvider;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<ProviderFormValues>();
  const editing = provider?.name;
  const [version, setVersion] = useState(provider?.version);
  const [stored, setStored] = useState<string[]>(provider?.tokens ?? []);
  const failoverOn = Form.useWatch<boolean | undefined>(['tokenFailoverConfig', 'enabled'], form);
  const saver = useObjectSave<LLMProvider>({
    onReloaded: (fresh) => {
      form.resetFields();
      form.setFieldsValue(providerToForm(fresh));
      setStored(fresh.tokens);
      setVersion(fresh.version);
    },
    client: api.llmProviders,
    queryKey: queryKeys.llmProviders,
    form,
    editing,
    onSaved: (saved) => {
      void message.success(
        t(editing ? 'ai.providers.updated' : 'ai.providers.created', { name: saved.name }),
      );
      onClose();
    },
  });

  return (
    <EditorDrawer
      title={editing ? t('ai.providers.editTitle', { name: editing }) : t('ai.providers.newTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
    >
      <FormProblems {...saver.problems} />
      <Form<ProviderFormValues>
        form={form}
        layout="vertical"
        initialValues={provider ? providerToForm(provider) : emptyProvider()}
        scrollToFirstError
        onFinish={(v) => saver.save(formToProvider(v, version))}
      >
        <Form.Item
          name="name"
          label={t('ai.providers.name')}
          extra={t('ai.providers.nameHelp')}
          rules={[rule(t, validateName)]}
        >
          <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item name="type" label={t('ai.providers.type')}>
              <Select
                showSearch={{ optionFilterProp: 'label' }}
                options={llmProviderTypes.map((v) => ({
                  value: v,
                  label: providerTypeLabels[v] ?? v,
                }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              name="protocol"
              label={t('ai.providers.protocol')}
              extra={t('ai.providers.protocolHelp')}
            >
              <Select
                options={(['openai', 'original'] as const).map((v) => ({
                  value: v,
                  label: t(`ai.providers.protocols.${v}`),
                }))}
              />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="endpoint"
          label={t('ai.providers.endpoint')}
          extra={t('ai.providers.endpointHelp')}
          rules={[
            rule(t, (v: string | undefined) =>
              (v ?? '').trim() === '' ? undefined : validateEndpointURL(v),
            ),
          ]}
        >
          <Input
            className="gh-mono"
            placeholder={t('ai.providers.endpointDefault')}
            autoComplete="off"
            spellCheck={false}
          />
        </Form.Item>
        <Form.Item
          name="tokens"
          label={t('ai.providers.tokens')}
          extra={t('ai.providers.tokensHelp')}
          rules={[
            {
              validator: (_, list: string[] | undefined) =>
                (list ?? []).some((v) => v !== maskedToken && v.trim() === '')
                  ? Promise.reject(new Error(t('ai.providers.tokenRequired')))
                  : Promise.resolve(),
            },
          ]}
        >
          <TokensInput stored={stored} />
        </Form.Item>

        <Divider titlePlacement="start" plain>
          {t('ai.providers.failover')}
        </Divider>
        <Form.Item
          name={['tokenFailoverConfig', 'enabled']}
          label={t('ai.providers.failoverEnabled')}
          valuePropName="checked"
        >
          <Switch />
        </Form.Item>
        {failoverOn && (
          <Row gutter={16}>
            <Col xs={12} md={8}>
              <Form.Item
                name={['tokenFailoverConfig', 'failureThreshold']}
                label={t('ai.providers.failureThreshold')}
              >
                <InputNumber min={1} max={1000} placeholder="3" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={12} md={8}>
              <Form.Item
                name={['tokenFailoverConfig', 'successThreshold']}
                label={t('ai.providers.successThreshold')}
              >
                <InputNumber min={1} max={1000} placeholder="1" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item
                name={['tokenFailoverConfig', 'healthCheckModel']}
                label={t('ai.providers.healthCheckModel')}
              >
                <Input autoComplete="off" spellCheck={false} />
              </Form.Item>
            </Col>
            <Col xs={12}>
              <Form.Item
                name={['tokenFailoverConfig', 'healthCheckInterval']}
                label={t('ai.providers.healthCheckInterval')}
              >
                <InputNumber min={1} placeholder="5000" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={12}>
              <Form.Item
                name={['tokenFailoverConfig', 'healthCheckTimeout']}
                label={t('ai.providers.healthCheckTimeout')}
              >
                <InputNumber min={1} placeholder="5000" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
          </Row>
        )}
        <Form.Item
          name="rawConfigs"
          label={t('ai.providers.rawConfigs')}
          extra={t('ai.providers.rawConfigsHelp')}
          rules={[
            {
              validator: (_, text: string | undefined) =>
                isRawConfigsValid(text ?? '')
                  ? Promise.resolve()
                  : Promise.reject(new Error(t('ai.providers.rawConfigsInvalid'))),
            },
          ]}
        >
          <Input.TextArea
            className="gh-mono"
            autoSize={{ minRows: 2, maxRows: 12 }}
            spellCheck={false}
            placeholder='{"timeout": 30000}'
          />
        </Form.Item>
      </Form>
    </EditorDrawer>
  );
}
