import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import {
  App,
  Button,
  Card,
  Col,
  Divider,
  Flex,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Switch,
  Typography,
} from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { AIRoute } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n, type Translate } from '../../i18n/context';
import { validateDomains, validateName } from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { useObjectSave } from '../../lib/useObjectSave';
import type { Problem } from '../../lib/validation';
import {
  aiRouteToForm,
  emptyAIRoute,
  formToAIRoute,
  validateAIWeight,
  validatePathPrefix,
  validateStatuses,
  validateWeights,
  type AIRouteFormValues,
} from './aiRouteForm';
import { ModelMappingRows } from './ModelMappingRows';

function checkRule<T>(t: Translate, check: (v: T | undefined) => Problem | undefined) {
  return {
    validator: (_: unknown, v: T | undefined) => {
      const p = check(v);
      return p ? Promise.reject(new Error(t(p.key, p.vars))) : Promise.resolve();
    },
  };
}

/** keyAuthConsumers names the consumers of the key-auth plugin instances, to suggest them. */
function useKeyAuthConsumers(): string[] {
  const api = useApi();
  const instances = useQuery({
    queryKey: [...queryKeys.pluginInstances, 'list', ''],
    queryFn: ({ signal }) => api.pluginInstances.list('', signal),
  });
  const names = new Set<string>();
  for (const i of instances.data?.items ?? []) {
    if (i.plugin !== 'key-auth') continue;
    const consumers = i.config?.consumers;
    if (!Array.isArray(consumers)) continue;
    for (const c of consumers as unknown[]) {
      const name = (c as { name?: unknown } | null)?.name;
      if (typeof name === 'string') names.add(name);
    }
  }
  return [...names].sort();
}

/** AiRouteDrawer creates an AI route, or edits `route` when given. */
export function AiRouteDrawer({ route, onClose }: { route?: AIRoute; onClose: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<AIRouteFormValues>();
  const editing = route?.name;
  const [version, setVersion] = useState(route?.version);
  const fallbackOn = Form.useWatch<boolean | undefined>(['fallbackConfig', 'enabled'], form);
  const authOn = Form.useWatch<boolean | undefined>(['authConfig', 'enabled'], form);
  const providers = useQuery({
    queryKey: [...queryKeys.llmProviders, 'list', ''],
    queryFn: ({ signal }) => api.llmProviders.list('', signal),
  });
  const consumers = useKeyAuthConsumers();
  const providerOptions = (providers.data?.items ?? []).map((p) => ({
    value: p.name,
    label: p.name,
  }));
  const saver = useObjectSave<AIRoute>({
    onReloaded: (fresh) => {
      form.resetFields();
      form.setFieldsValue(aiRouteToForm(fresh));
      setVersion(fresh.version);
    },
    client: api.aiRoutes,
    queryKey: queryKeys.aiRoutes,
    form,
    editing,
    onSaved: (saved) => {
      void message.success(
        t(editing ? 'ai.routes.updated' : 'ai.routes.created', { name: saved.name }),
      );
      onClose();
    },
  });

  // The form mounts once the providers are known, so a new route starts with the first one.
  if (!route && providers.isPending) {
    return (
      <EditorDrawer
        title={t('ai.routes.newTitle')}
        onClose={onClose}
        onSave={() => undefined}
        saving
      >
        <Typography.Text type="secondary">{t('common.loading')}</Typography.Text>
      </EditorDrawer>
    );
  }

  return (
    <EditorDrawer
      title={editing ? t('ai.routes.editTitle', { name: editing }) : t('ai.routes.newTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
      width={820}
    >
      <FormProblems {...saver.problems} />
      <Form<AIRouteFormValues>
        form={form}
        layout="vertical"
        initialValues={route ? aiRouteToForm(route) : emptyAIRoute(providerOptions[0]?.value)}
        scrollToFirstError
        onFinish={(v) => saver.save(formToAIRoute(v, version))}
      >
        <Row gutter={16}>
          <Col xs={24} md={16}>
            <Form.Item
              name="name"
              label={t('ai.routes.name')}
              extra={t('ai.routes.nameHelp')}
              rules={[rule(t, validateName)]}
            >
              <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item name="enabled" label={t('ai.routes.enabled')} valuePropName="checked">
              <Switch />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              name="domains"
              label={t('ai.routes.domains')}
              extra={t('ai.routes.domainsHelp')}
              rules={[checkRule<string[]>(t, validateDomains)]}
            >
              <Select
                mode="tags"
                open={false}
                suffix={null}
                tokenSeparators={[',', ' ']}
                placeholder={t('ai.routes.anyHost')}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              name="pathPrefix"
              label={t('ai.routes.pathPrefix')}
              extra={t('ai.routes.pathPrefixHelp')}
              rules={[rule(t, validatePathPrefix)]}
            >
              <Input className="gh-mono" placeholder="/llm" autoComplete="off" spellCheck={false} />
            </Form.Item>
          </Col>
        </Row>

        <Divider titlePlacement="start" plain>
          {t('ai.routes.upstreams')}
        </Divider>
        <Typography.Paragraph type="secondary">{t('ai.routes.upstreamsHelp')}</Typography.Paragraph>
        <Form.List
          name="upstreams"
          rules={[checkRule<AIRouteFormValues['upstreams']>(t, validateWeights)]}
        >
          {(fields, { add, remove }, { errors }) => (
            <Flex vertical gap={12} style={{ marginBottom: 16 }}>
              {fields.map((field, i) => {
                const where = t('ai.routes.providerN', { n: i + 1 });
                return (
                  <Card key={field.key} size="small" data-testid={`upstream-${i}`}>
                    <Flex gap={8} align="start">
                      <Form.Item
                        name={[field.name, 'provider']}
                        label={t('ai.routes.provider')}
                        rules={[{ required: true, message: t('ai.routes.providerRequired') }]}
                        style={{ flex: 1 }}
                      >
                        <Select
                          aria-label={where}
                          options={providerOptions}
                          loading={providers.isPending}
                          showSearch
                        />
                      </Form.Item>
                      <Form.Item
                        name={[field.name, 'weight']}
                        label={t('ai.routes.weight')}
                        rules={[checkRule<number | null>(t, validateAIWeight)]}
                        style={{ width: 120 }}
                      >
                        <InputNumber
                          aria-label={t('ai.routes.weightN', { n: i + 1 })}
                          min={0}
                          max={100}
                          style={{ width: '100%' }}
                        />
                      </Form.Item>
                      <Button
                        type="text"
                        icon={<DeleteOutlined />}
                        aria-label={t('ai.routes.removeUpstream', { n: i + 1 })}
                        disabled={fields.length === 1}
                        onClick={() => remove(field.name)}
                        style={{ marginTop: 30 }}
                      />
                    </Flex>
                    <Typography.Text type="secondary">
                      {t('ai.routes.modelMapping')}
                    </Typography.Text>
                    <div style={{ marginTop: 6 }}>
                      <ModelMappingRows name={[field.name, 'modelMapping']} where={where} />
                    </div>
                  </Card>
                );
              })}
              <Form.ErrorList errors={errors} />
              <Typography.Text type="secondary">{t('ai.routes.modelMappingHelp')}</Typography.Text>
              <Button
                icon={<PlusOutlined />}
                onClick={() => add({ provider: undefined, weight: 0, modelMapping: [] })}
                style={{ alignSelf: 'flex-start' }}
              >
                {t('ai.routes.addUpstream')}
              </Button>
            </Flex>
          )}
        </Form.List>

        <Divider titlePlacement="start" plain>
          {t('ai.routes.predicates')}
        </Divider>
        <Typography.Paragraph type="secondary">
          {t('ai.routes.predicatesHelp')}
        </Typography.Paragraph>
        <Form.List name="modelPredicates">
          {(fields, { add, remove }) => (
            <Flex vertical gap={8} style={{ marginBottom: 16 }}>
              {fields.map((field, i) => (
                <Flex key={field.key} gap={8} align="start">
                  <Form.Item
                    name={[field.name, 'matchType']}
                    style={{ width: 200, marginBottom: 0 }}
                  >
                    <Select
                      aria-label={t('ai.routes.matchTypeN', { n: i + 1 })}
                      options={(['EQUAL', 'PRE', 'REGULAR'] as const).map((v) => ({
                        value: v,
                        label: t(`ai.routes.matchTypes.${v}`),
                      }))}
                    />
                  </Form.Item>
                  <Form.Item
                    name={[field.name, 'matchValue']}
                    style={{ flex: 1, marginBottom: 0 }}
                    rules={[
                      {
                        required: true,
                        whitespace: true,
                        message: t('ai.routes.matchValueRequired'),
                      },
                    ]}
                  >
                    <Input
                      aria-label={t('ai.routes.matchValueN', { n: i + 1 })}
                      className="gh-mono"
                      placeholder="gpt-4o"
                      autoComplete="off"
                      spellCheck={false}
                    />
                  </Form.Item>
                  <Button
                    type="text"
                    icon={<DeleteOutlined />}
                    aria-label={t('ai.routes.removePredicate', { n: i + 1 })}
                    onClick={() => remove(field.name)}
                  />
                </Flex>
              ))}
              <Button
                icon={<PlusOutlined />}
                onClick={() => add({ matchType: 'EQUAL', matchValue: '' })}
                style={{ alignSelf: 'flex-start' }}
              >
                {t('ai.routes.addPredicate')}
              </Button>
            </Flex>
          )}
        </Form.List>

        <Divider titlePlacement="start" plain>
          {t('ai.routes.fallback')}
        </Divider>
        <Form.Item
          name={['fallbackConfig', 'enabled']}
          label={t('ai.routes.fallbackEnabled')}
          extra={t('ai.routes.fallbackHelp')}
          valuePropName="checked"
        >
          <Switch />
        </Form.Item>
        <div style={{ display: fallbackOn ? undefined : 'none' }}>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item
                name={['fallbackConfig', 'fallbackStrategy']}
                label={t('ai.routes.strategy')}
              >
                <Select
                  options={(['SEQUENCE', 'RANDOM'] as const).map((v) => ({
                    value: v,
                    label: t(`ai.routes.strategies.${v}`),
                  }))}
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item
                name={['fallbackConfig', 'onStatus']}
                label={t('ai.routes.onStatus')}
                extra={t('ai.routes.onStatusHelp')}
                rules={[checkRule<string[]>(t, validateStatuses)]}
              >
                <Select mode="tags" open={false} suffix={null} tokenSeparators={[',', ' ']} />
              </Form.Item>
            </Col>
          </Row>
          <Typography.Text>{t('ai.routes.fallbackUpstreams')}</Typography.Text>
          <Form.List name={['fallbackConfig', 'upstreams']}>
            {(fields, { add, remove }) => (
              <Flex vertical gap={12} style={{ marginTop: 8, marginBottom: 16 }}>
                {fields.map((field, i) => {
                  const where = t('ai.routes.fallbackProviderN', { n: i + 1 });
                  return (
                    <Card key={field.key} size="small">
                      <Flex gap={8} align="start">
                        <Form.Item
                          name={[field.name, 'provider']}
                          rules={[{ required: true, message: t('ai.routes.providerRequired') }]}
                          style={{ flex: 1 }}
                        >
                          <Select aria-label={where} options={providerOptions} showSearch />
                        </Form.Item>
                        <Button
                          type="text"
                          icon={<DeleteOutlined />}
                          aria-label={t('ai.routes.removeFallback', { n: i + 1 })}
                          onClick={() => remove(field.name)}
                        />
                      </Flex>
                      <ModelMappingRows name={[field.name, 'modelMapping']} where={where} />
                    </Card>
                  );
                })}
                <Button
                  icon={<PlusOutlined />}
                  onClick={() => add({ provider: undefined, modelMapping: [] })}
                  style={{ alignSelf: 'flex-start' }}
                >
                  {t('ai.routes.addUpstream')}
                </Button>
              </Flex>
            )}
          </Form.List>
        </div>

        <Divider titlePlacement="start" plain>
          {t('ai.routes.auth')}
        </Divider>
        <Form.Item
          name={['authConfig', 'enabled']}
          label={t('ai.routes.authEnabled')}
          extra={t('ai.routes.authHelp')}
          valuePropName="checked"
        >
          <Switch />
        </Form.Item>
        <Form.Item
          name={['authConfig', 'allowedConsumers']}
          label={t('ai.routes.allowedConsumers')}
          extra={t('ai.routes.allowedConsumersHelp')}
          hidden={!authOn}
        >
          <Select
            mode="tags"
            tokenSeparators={[',', ' ']}
            options={consumers.map((c) => ({ value: c, label: c }))}
          />
        </Form.Item>
      </Form>
    </EditorDrawer>
  );
}
