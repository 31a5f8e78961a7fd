import { ApiOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
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
  Radio,
  Row,
  Segmented,
  Space,
  Switch,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { RedisDiagnosis, RedisMode, RedisSettingsView } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormProblems } from '../../components/FormProblems';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useI18n } from '../../i18n/context';
import { validateDuration, validateRedisAddress } from '../../lib/configValidation';
import { rule, useObjectFormFailure } from '../../lib/forms';
import { DiagnosisAlert } from './DiagnosisAlert';
import { formToRedis, redisToForm, type RedisFormValues } from './redisForm';

const modes: RedisMode[] = ['standalone', 'sentinel', 'cluster'];
const tenMinutes = 600_000;

/** RedisPage edits the Redis settings, tests a connection and shows the current state. */
export default function RedisPage() {
  const { t } = useI18n();
  const api = useApi();
  const settings = useQuery({
    queryKey: queryKeys.redisSettings,
    queryFn: ({ signal }) => api.redisSettings(signal),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  return (
    <>
      <PageHeader title={t('redis.title')} />
      <Typography.Paragraph type="secondary">{t('redis.intro')}</Typography.Paragraph>
      {settings.isPending ? (
        <Loading />
      ) : settings.isError ? (
        <ErrorAlert error={settings.error} onRetry={() => void settings.refetch()} />
      ) : (
        <RedisForm key={settings.dataUpdatedAt} stored={settings.data} />
      )}
    </>
  );
}

function RedisForm({ stored }: { stored: RedisSettingsView }) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<RedisFormValues>();
  const failure = useObjectFormFailure(form);
  const [diagnosis, setDiagnosis] = useState<RedisDiagnosis | null>(null);
  const mode = (Form.useWatch('mode', form) as RedisMode | undefined) ?? stored.mode;
  const tlsOn =
    (Form.useWatch(['tls', 'enabled'], form) as boolean | undefined) ?? stored.tls.enabled;
  const passwordAction = Form.useWatch('passwordAction', form) as string | undefined;
  const health = useQuery({
    queryKey: queryKeys.health,
    queryFn: ({ signal }) => api.health(signal),
    refetchInterval: 10_000,
  });
  const redisHealth = health.data?.components.find((c) => c.kind === 'redis');

  const test = useMutation({
    mutationFn: (v: RedisFormValues) => api.testRedisSettings(formToRedis(v, stored.passwordSet)),
    onMutate: () => {
      setDiagnosis(null);
      failure.clear();
    },
    onSuccess: setDiagnosis,
    onError: (err) => failure.report(err),
  });
  const save = useMutation({
    mutationFn: (v: RedisFormValues) => api.saveRedisSettings(formToRedis(v, stored.passwordSet)),
    onMutate: () => failure.clear(),
    onSuccess: (saved) => {
      void message.success(t('redis.saved'));
      queryClient.setQueryData(queryKeys.redisSettings, saved);
      void queryClient.invalidateQueries({ queryKey: queryKeys.health });
    },
    onError: (err) => failure.report(err),
  });

  const runTest = () => {
    form
      .validateFields()
      .then((v) => test.mutate(v))
      .catch(() => undefined);
  };

  return (
    <Row gutter={[24, 24]}>
      <Col xs={24} xl={15}>
        <Card title={t('redis.settings')}>
          <FormProblems failure={failure.failure} conflict={false} />
          <Form<RedisFormValues>
            form={form}
            layout="vertical"
            initialValues={redisToForm(stored)}
            onFinish={(v) => save.mutate(v)}
            scrollToFirstError
          >
            <Form.Item name="mode" label={t('redis.mode')} extra={t(`redis.modeHelp.${mode}`)}>
              <Segmented<RedisMode>
                options={modes.map((m) => ({ value: m, label: t(`redis.modes.${m}`) }))}
              />
            </Form.Item>
            <Form.Item
              label={t(mode === 'standalone' ? 'redis.address' : 'redis.addresses')}
              required
              extra={t('redis.addressHelp')}
            >
              <Form.List name="addresses">
                {(fields, { add, remove }, { errors }) => (
                  <Flex vertical gap={8}>
                    {fields.map((field, i) => (
                      <Flex key={field.key} gap={8} align="start">
                        <Form.Item
                          name={field.name}
                          rules={[rule(t, validateRedisAddress)]}
                          style={{ flex: 1, marginBottom: 0 }}
                        >
                          <Input
                            aria-label={t('redis.addressN', { n: i + 1 })}
                            placeholder="redis:6379"
                            className="gh-mono"
                            autoComplete="off"
                            spellCheck={false}
                          />
                        </Form.Item>
                        {fields.length > 1 && (
                          <Button
                            type="text"
                            icon={<DeleteOutlined />}
                            aria-label={t('redis.removeAddress', { n: i + 1 })}
                            onClick={() => remove(field.name)}
                          />
                        )}
                      </Flex>
                    ))}
                    <Form.ErrorList errors={errors} />
                    {mode !== 'standalone' && (
                      <Button
                        icon={<PlusOutlined />}
                        onClick={() => add('')}
                        style={{ alignSelf: 'flex-start' }}
                      >
                        {t('redis.addAddress')}
                      </Button>
                    )}
                  </Flex>
                )}
              </Form.List>
            </Form.Item>
            {mode === 'sentinel' && (
              <Form.Item
                name="masterName"
                label={t('redis.masterName')}
                extra={t('redis.masterNameHelp')}
                rules={[
                  { required: true, whitespace: true, message: t('validation.masterNameRequired') },
                ]}
              >
                <Input placeholder="mymaster" autoComplete="off" spellCheck={false} />
              </Form.Item>
            )}
            <Row gutter={16}>
              <Col xs={24} md={12}>
                <Form.Item
                  name="username"
                  label={t('redis.username')}
                  extra={t('redis.usernameHelp')}
                >
                  <Input autoComplete="off" spellCheck={false} />
                </Form.Item>
              </Col>
              <Col xs={24} md={12}>
                <Form.Item
                  name="db"
                  label={t('redis.db')}
                  extra={mode === 'cluster' ? t('redis.dbCluster') : undefined}
                  rules={[
                    {
                      validator: (_, v: number | null) =>
                        mode === 'cluster' && (v ?? 0) !== 0
                          ? Promise.reject(new Error(t('validation.dbCluster')))
                          : Promise.resolve(),
                    },
                  ]}
                >
                  <InputNumber min={0} precision={0} style={{ width: '100%' }} />
                </Form.Item>
              </Col>
            </Row>

            <Form.Item
              label={t('redis.password')}
              extra={stored.passwordSet ? t('redis.passwordSet') : t('redis.passwordUnset')}
            >
              {stored.passwordSet && (
                <Form.Item name="passwordAction" noStyle>
                  <Radio.Group
                    style={{ marginBottom: 8 }}
                    options={[
                      { value: 'keep', label: t('redis.passwordKeep') },
                      { value: 'replace', label: t('redis.passwordReplace') },
                      { value: 'clear', label: t('redis.passwordClear') },
                    ]}
                  />
                </Form.Item>
              )}
              {(!stored.passwordSet || passwordAction === 'replace') && (
                <Form.Item
                  name="password"
                  noStyle
                  rules={[
                    {
                      required: stored.passwordSet,
                      message: t('validation.passwordRequired'),
                    },
                  ]}
                >
                  <Input.Password
                    aria-label={t('redis.password')}
                    autoComplete="new-password"
                    placeholder={
                      stored.passwordSet ? t('redis.newPassword') : t('redis.noPassword')
                    }
                  />
                </Form.Item>
              )}
            </Form.Item>

            <Divider titlePlacement="start" plain>
              {t('redis.tls')}
            </Divider>
            <Form.Item
              name={['tls', 'enabled']}
              label={t('redis.tlsEnabled')}
              valuePropName="checked"
            >
              <Switch />
            </Form.Item>
            {tlsOn && (
              <>
                <Row gutter={16}>
                  <Col xs={24} md={12}>
                    <Form.Item
                      name={['tls', 'serverName']}
                      label={t('redis.serverName')}
                      extra={t('redis.serverNameHelp')}
                    >
                      <Input autoComplete="off" spellCheck={false} />
                    </Form.Item>
                  </Col>
                  <Col xs={24} md={12}>
                    <Form.Item
                      name={['tls', 'insecureSkipVerify']}
                      label={t('redis.insecureSkipVerify')}
                      valuePropName="checked"
                      extra={t('redis.insecureHelp')}
                    >
                      <Switch />
                    </Form.Item>
                  </Col>
                </Row>
                <Form.Item
                  name={['tls', 'caCertPEM']}
                  label={t('redis.caCert')}
                  extra={t('redis.caCertHelp')}
                >
                  <Input.TextArea
                    rows={4}
                    className="gh-mono"
                    spellCheck={false}
                    placeholder="-----BEGIN CERTIFICATE-----"
                  />
                </Form.Item>
              </>
            )}

            <Divider titlePlacement="start" plain>
              {t('redis.poolAndTimeouts')}
            </Divider>
            <Row gutter={16}>
              <Col xs={12} md={6}>
                <Form.Item
                  name="poolSize"
                  label={t('redis.poolSize')}
                  extra={t('redis.poolSizeHelp')}
                >
                  <InputNumber min={0} max={10000} precision={0} style={{ width: '100%' }} />
                </Form.Item>
              </Col>
              <Col xs={12} md={6}>
                <Form.Item
                  name="minIdleConns"
                  label={t('redis.minIdleConns')}
                  dependencies={['poolSize']}
                  rules={[
                    ({ getFieldValue }) => ({
                      validator: (_, v: number | null) => {
                        const pool = (getFieldValue('poolSize') as number | null) ?? 0;
                        return pool > 0 && (v ?? 0) > pool
                          ? Promise.reject(new Error(t('validation.minIdleOverPool', { pool })))
                          : Promise.resolve();
                      },
                    }),
                  ]}
                >
                  <InputNumber min={0} precision={0} style={{ width: '100%' }} />
                </Form.Item>
              </Col>
              {(['dialTimeout', 'readTimeout', 'writeTimeout'] as const).map((f) => (
                <Col xs={8} md={4} key={f}>
                  <Form.Item
                    name={f}
                    label={t(`redis.${f}`)}
                    rules={[rule(t, (v) => validateDuration(v, 1, tenMinutes))]}
                  >
                    <Input placeholder={f === 'dialTimeout' ? '5s' : '3s'} autoComplete="off" />
                  </Form.Item>
                </Col>
              ))}
            </Row>
            <Space wrap>
              <Button icon={<ApiOutlined />} onClick={runTest} loading={test.isPending}>
                {t('redis.test')}
              </Button>
              <Button type="primary" htmlType="submit" loading={save.isPending}>
                {t('redis.save')}
              </Button>
            </Space>
          </Form>
        </Card>
      </Col>
      <Col xs={24} xl={9}>
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          {diagnosis && <DiagnosisAlert diagnosis={diagnosis} />}
          <Card title={t('redis.current')} data-testid="redis-current">
            <Space orientation="vertical" size={8} style={{ width: '100%' }}>
              <Flex gap={8} align="center" wrap>
                {redisHealth ? (
                  <Tag
                    color={
                      {
                        ok: 'success',
                        degraded: 'warning',
                        down: 'error',
                        not_configured: 'default',
                      }[redisHealth.status]
                    }
                  >
                    {t(`dashboard.status.${redisHealth.status}`)}
                  </Tag>
                ) : (
                  <Tag>{t(stored.configured ? 'redis.configured' : 'redis.notConfigured')}</Tag>
                )}
                {stored.configured && (
                  <Typography.Text className="gh-mono">
                    {t(`redis.modes.${stored.mode}`)} · {stored.addresses.join(', ')}
                  </Typography.Text>
                )}
              </Flex>
              {redisHealth?.message && (
                <Typography.Text type="secondary">{redisHealth.message}</Typography.Text>
              )}
              {!stored.configured && (
                <Typography.Text type="secondary">{t('redis.notConfiguredHelp')}</Typography.Text>
              )}
              <Typography.Text type="secondary">{t('redis.appliesLive')}</Typography.Text>
            </Space>
          </Card>
        </Space>
      </Col>
    </Row>
  );
}
