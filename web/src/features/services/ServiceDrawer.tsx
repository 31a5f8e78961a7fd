import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import {
  App,
  Button,
  Col,
  Divider,
  Flex,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Switch,
} from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { Service } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import {
  validateDuration,
  validateEndpointURL,
  validateHeaderToken,
  validateHealthPath,
  validateName,
  validateRetries,
  validateThreshold,
  validateWeight,
} from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { useObjectSave } from '../../lib/useObjectSave';
import { emptyService, formToService, serviceToForm, type ServiceFormValues } from './serviceForm';

const hour = 3_600_000;

/** ServiceDrawer creates a service, or edits `service` when given. */
export function ServiceDrawer({ service, onClose }: { service?: Service; onClose: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<ServiceFormValues>();
  const editing = service?.name;
  // The version read; a Reload after a conflict moves it to the stored one.
  const [version, setVersion] = useState(service?.version);
  const lb = Form.useWatch<string | undefined>('loadBalancer', form);
  const hashType = Form.useWatch<string | undefined>(['hashOn', 'type'], form);
  const healthOn = Form.useWatch<boolean | undefined>('healthCheckEnabled', form);
  const saver = useObjectSave<Service>({
    onReloaded: (fresh) => {
      form.resetFields();
      form.setFieldsValue(serviceToForm(fresh));
      setVersion(fresh.version);
    },
    client: api.services,
    queryKey: queryKeys.services,
    form,
    editing,
    onSaved: (saved) => {
      void message.success(
        t(editing ? 'services.updated' : 'services.created', { name: saved.name }),
      );
      onClose();
    },
  });

  const initial = service ? serviceToForm(service) : emptyService();
  const urlRule = rule(t, validateEndpointURL);

  return (
    <EditorDrawer
      title={editing ? t('services.editTitle', { name: editing }) : t('services.newTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
    >
      <FormProblems {...saver.problems} />
      <Form<ServiceFormValues>
        form={form}
        layout="vertical"
        initialValues={initial}
        scrollToFirstError
        onFinish={(v) => saver.save(formToService(v, version))}
      >
        <Form.Item
          name="name"
          label={t('services.name')}
          extra={t('services.nameHelp')}
          rules={[rule(t, validateName)]}
        >
          <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
        </Form.Item>

        <Form.Item label={t('services.endpoints')} required extra={t('services.endpointsHelp')}>
          <Form.List
            name="endpoints"
            rules={[
              {
                validator: (_, list: unknown[] | undefined) =>
                  list && list.length > 0
                    ? Promise.resolve()
                    : Promise.reject(new Error(t('validation.endpointsRequired'))),
              },
            ]}
          >
            {(fields, { add, remove }, { errors }) => (
              <Flex vertical gap={8}>
                {fields.map((field, i) => (
                  <Flex key={field.key} gap={8} align="start">
                    <Form.Item
                      name={[field.name, 'url']}
                      rules={[
                        urlRule,
                        ({ getFieldValue }) => ({
                          validator: (_, url: string | undefined) => {
                            const all = (getFieldValue('endpoints') as { url?: string }[]).map(
                              (e) => (e.url ?? '').trim(),
                            );
                            const first = all.indexOf((url ?? '').trim());
                            return url && first !== -1 && first < i
                              ? Promise.reject(new Error(t('validation.endpointTwice')))
                              : Promise.resolve();
                          },
                        }),
                      ]}
                      style={{ flex: 1, marginBottom: 0 }}
                    >
                      <Input
                        aria-label={t('services.endpointUrl', { n: i + 1 })}
                        placeholder="http://10.0.0.5:8080"
                        className="gh-mono"
                        autoComplete="off"
                        spellCheck={false}
                      />
                    </Form.Item>
                    <Form.Item
                      name={[field.name, 'weight']}
                      rules={[
                        {
                          validator: (_, w: number | null | undefined) => {
                            const p = validateWeight(w);
                            return p
                              ? Promise.reject(new Error(t(p.key, p.vars)))
                              : Promise.resolve();
                          },
                        },
                      ]}
                      style={{ width: 120, marginBottom: 0 }}
                    >
                      <InputNumber
                        aria-label={t('services.endpointWeight', { n: i + 1 })}
                        placeholder={t('services.weight')}
                        min={0}
                        style={{ width: '100%' }}
                      />
                    </Form.Item>
                    <Button
                      type="text"
                      icon={<DeleteOutlined />}
                      aria-label={t('services.removeEndpoint', { n: i + 1 })}
                      disabled={fields.length === 1}
                      onClick={() => remove(field.name)}
                    />
                  </Flex>
                ))}
                <Form.ErrorList errors={errors} />
                <Button
                  icon={<PlusOutlined />}
                  onClick={() => add({ url: '' })}
                  style={{ alignSelf: 'flex-start' }}
                >
                  {t('services.addEndpoint')}
                </Button>
              </Flex>
            )}
          </Form.List>
        </Form.Item>

        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item name="loadBalancer" label={t('services.loadBalancer')}>
              <Select
                options={(['round-robin', 'least-request', 'consistent-hash'] as const).map(
                  (v) => ({ value: v, label: t(`services.lb.${v}`) }),
                )}
              />
            </Form.Item>
          </Col>
          {lb === 'consistent-hash' && (
            <>
              <Col xs={12} md={6}>
                <Form.Item
                  name={['hashOn', 'type']}
                  label={t('services.hashOn')}
                  rules={[{ required: true, message: t('validation.hashOnRequired') }]}
                >
                  <Select
                    options={(['header', 'cookie', 'client-address'] as const).map((v) => ({
                      value: v,
                      label: t(`services.hash.${v}`),
                    }))}
                  />
                </Form.Item>
              </Col>
              {hashType !== 'client-address' && (
                <Col xs={12} md={6}>
                  <Form.Item
                    name={['hashOn', 'name']}
                    label={t(hashType === 'cookie' ? 'services.cookieName' : 'services.headerName')}
                    rules={[rule(t, validateHeaderToken)]}
                  >
                    <Input autoComplete="off" spellCheck={false} placeholder="x-user-id" />
                  </Form.Item>
                </Col>
              )}
            </>
          )}
        </Row>
        <Row gutter={16}>
          <Col xs={12}>
            <Form.Item
              name="timeout"
              label={t('services.timeout')}
              extra={t('services.timeoutHelp')}
              rules={[rule(t, (v) => validateDuration(v, 1, hour))]}
            >
              <Input placeholder="30s" autoComplete="off" spellCheck={false} />
            </Form.Item>
          </Col>
          <Col xs={12}>
            <Form.Item
              name="retries"
              label={t('services.retries')}
              extra={t('services.retriesHelp')}
              rules={[
                {
                  validator: (_, v: number | null | undefined) => {
                    const p = validateRetries(v);
                    return p ? Promise.reject(new Error(t(p.key, p.vars))) : Promise.resolve();
                  },
                },
              ]}
            >
              <InputNumber min={0} max={10} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </Row>

        <Divider titlePlacement="start" plain>
          {t('services.healthCheck')}
        </Divider>
        <Form.Item
          name="healthCheckEnabled"
          label={t('services.healthCheckEnabled')}
          valuePropName="checked"
          extra={t('services.healthCheckHelp')}
        >
          <Switch />
        </Form.Item>
        {healthOn && (
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item
                name={['healthCheck', 'path']}
                label={t('services.healthPath')}
                rules={[rule(t, validateHealthPath)]}
              >
                <Input placeholder="/healthz" autoComplete="off" spellCheck={false} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item
                name={['healthCheck', 'interval']}
                label={t('services.healthInterval')}
                rules={[rule(t, (v) => validateDuration(v, 100, hour))]}
              >
                <Input placeholder="10s" autoComplete="off" />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item
                name={['healthCheck', 'timeout']}
                label={t('services.healthTimeout')}
                rules={[rule(t, (v) => validateDuration(v, 1, hour))]}
              >
                <Input placeholder="2s" autoComplete="off" />
              </Form.Item>
            </Col>
            <Col xs={12}>
              <Form.Item
                name={['healthCheck', 'healthyThreshold']}
                label={t('services.healthyThreshold')}
                rules={[thresholdRule(t)]}
              >
                <InputNumber min={1} max={100} placeholder="2" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={12}>
              <Form.Item
                name={['healthCheck', 'unhealthyThreshold']}
                label={t('services.unhealthyThreshold')}
                rules={[thresholdRule(t)]}
              >
                <InputNumber min={1} max={100} placeholder="3" style={{ width: '100%' }} />
              </Form.Item>
            </Col>
          </Row>
        )}
      </Form>
    </EditorDrawer>
  );
}

function thresholdRule(t: ReturnType<typeof useI18n>['t']) {
  return {
    validator: (_: unknown, v: number | null | undefined) => {
      const p = validateThreshold(v);
      return p ? Promise.reject(new Error(t(p.key, p.vars))) : Promise.resolve();
    },
  };
}
