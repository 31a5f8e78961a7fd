import { useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Card,
  Col,
  Divider,
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
import type { MCPAuthType, MCPServer } from '../../api/types';
import { FormProblems } from '../../components/FormProblems';
import { JsonText } from '../../components/JsonText';
import { useI18n } from '../../i18n/context';
import { validateDomains } from '../../lib/configValidation';
import { isObject } from '../../lib/jsonSchema';
import { useObjectSave } from '../../lib/useObjectSave';
import { AttachedPlugins } from '../pluginInstances/AttachedPlugins';
import { fieldOfDefinitionDetail } from './mcp';

interface Values {
  path: string;
  ssePath: string;
  domains: string[];
  allowTools: string[];
  auth: {
    type: MCPAuthType;
    consumers: string[];
    issuer?: string;
    jwksURL?: string;
    audience?: string;
    passthrough: boolean;
  };
  rateLimitOn: boolean;
  rateLimit: { toolCallsPerMinute?: number | null; failOpen: boolean };
  server: { timeout?: number | null };
}

function toValues(s: MCPServer): Values {
  return {
    path: s.path,
    ssePath: s.ssePath,
    domains: s.domains ?? [],
    allowTools: s.allowTools ?? [],
    auth: {
      type: s.auth?.type ?? 'none',
      consumers: s.auth?.consumers ?? [],
      issuer: s.auth?.issuer,
      jwksURL: s.auth?.jwksURL,
      audience: s.auth?.audience,
      passthrough: s.auth?.passthrough ?? false,
    },
    rateLimitOn: s.rateLimit !== undefined,
    rateLimit: {
      toolCallsPerMinute: s.rateLimit?.toolCallsPerMinute ?? null,
      failOpen: s.rateLimit?.failOpen ?? false,
    },
    server: { timeout: s.server.timeout ?? null },
  };
}

/** applyValues puts the settings form onto the definition, leaving out what is empty. */
function applyValues(
  s: MCPServer,
  v: Values,
  config: Record<string, unknown> | undefined,
): MCPServer {
  const next: MCPServer = { ...s, path: v.path.trim(), ssePath: v.ssePath.trim() };
  if (v.domains.length > 0) next.domains = v.domains;
  else delete next.domains;
  if (v.allowTools.length > 0) next.allowTools = v.allowTools;
  else delete next.allowTools;
  if (v.auth.type === 'none') {
    delete next.auth;
  } else if (v.auth.type === 'api-key') {
    next.auth = { type: 'api-key' };
    if (v.auth.consumers.length > 0) next.auth.consumers = v.auth.consumers;
  } else {
    next.auth = {
      type: 'jwt',
      issuer: (v.auth.issuer ?? '').trim(),
      jwksURL: (v.auth.jwksURL ?? '').trim(),
    };
    const audience = (v.auth.audience ?? '').trim();
    if (audience !== '') next.auth.audience = audience;
    if (v.auth.passthrough) next.auth.passthrough = true;
  }
  if (v.rateLimitOn) {
    next.rateLimit = { toolCallsPerMinute: v.rateLimit.toolCallsPerMinute ?? 0 };
    if (v.rateLimit.failOpen) next.rateLimit.failOpen = true;
  } else {
    delete next.rateLimit;
  }
  const server = { ...s.server };
  if (v.server.timeout !== null && v.server.timeout !== undefined)
    server.timeout = v.server.timeout;
  else delete server.timeout;
  if (config && Object.keys(config).length > 0) server.config = config;
  else delete server.config;
  next.server = server;
  return next;
}

/**
 * SettingsPanel edits how a server is reached and protected: path, SSE
 * path, domains, which tools clients see, authentication, the tool-call
 * rate limit, the upstream timeout and the server's config values, plus the
 * plugins attached to it.
 */
export function SettingsPanel({ server }: { server: MCPServer }) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [config, setConfig] = useState(server.server.config);
  const authType =
    (Form.useWatch(['auth', 'type'], form) as MCPAuthType | undefined) ??
    server.auth?.type ??
    'none';
  const rateLimitOn =
    (Form.useWatch('rateLimitOn', form) as boolean | undefined) ?? server.rateLimit !== undefined;
  const saver = useObjectSave<MCPServer>({
    onReloaded: (fresh) => {
      queryClient.setQueryData(queryKeys.mcpServer(fresh.name), fresh);
    },
    client: api.mcpServers,
    queryKey: queryKeys.mcpServers,
    form,
    editing: server.name,
    onSaved: (saved) => {
      queryClient.setQueryData(queryKeys.mcpServer(saved.name), saved);
      void message.success(t('mcp.settingsSaved'));
    },
    claimDetails: (details) => details.map(fieldOfDefinitionDetail),
  });
  const toolNames = (server.tools ?? []).map((x) => x.name);

  return (
    <Row gutter={[24, 24]}>
      <Col xs={24} xl={15}>
        <Card title={t('mcp.tabs.settings')}>
          <FormProblems {...saver.problems} />
          <Form<Values>
            form={form}
            layout="vertical"
            initialValues={toValues(server)}
            onFinish={(v) => saver.save(applyValues(server, v, config))}
          >
            <Row gutter={16}>
              <Col xs={24} md={12}>
                <Form.Item
                  name="path"
                  label={t('mcp.path')}
                  rules={[
                    {
                      pattern: /^\/[^ ?#]*$/,
                      message: t('validation.mcpPath'),
                    },
                  ]}
                >
                  <Input className="gh-mono" autoComplete="off" spellCheck={false} />
                </Form.Item>
              </Col>
              <Col xs={24} md={12}>
                <Form.Item
                  name="ssePath"
                  label={t('mcp.ssePath')}
                  rules={[{ pattern: /^\/.*\/sse$/, message: t('validation.ssePath') }]}
                >
                  <Input className="gh-mono" autoComplete="off" spellCheck={false} />
                </Form.Item>
              </Col>
            </Row>
            <Form.Item
              name="domains"
              label={t('mcp.domains')}
              extra={t('routes.domainsHelp')}
              rules={[
                {
                  validator: (_, v: string[] | undefined) => {
                    const p = validateDomains(v);
                    return p ? Promise.reject(new Error(t(p.key, p.vars))) : Promise.resolve();
                  },
                },
              ]}
            >
              <Select
                mode="tags"
                open={false}
                suffix={null}
                tokenSeparators={[',', ' ']}
                placeholder={t('mcp.anyHost')}
              />
            </Form.Item>
            <Form.Item
              name="allowTools"
              label={t('mcp.allowTools')}
              extra={t('mcp.allowToolsHelp')}
            >
              <Select
                mode="multiple"
                allowClear
                placeholder={t('mcp.allToolsVisible')}
                options={toolNames.map((n) => ({ value: n, label: n }))}
              />
            </Form.Item>

            <Divider titlePlacement="start" plain>
              {t('mcp.auth')}
            </Divider>
            <Form.Item
              name={['auth', 'type']}
              label={t('mcp.authType')}
              extra={t(`mcp.authHelp.${authType}`)}
            >
              <Select
                options={(['none', 'api-key', 'jwt'] as const).map((a) => ({
                  value: a,
                  label: t(`mcp.authTypes.${a}`),
                }))}
              />
            </Form.Item>
            {authType === 'api-key' && (
              <Form.Item
                name={['auth', 'consumers']}
                label={t('mcp.consumers')}
                extra={t('mcp.consumersHelp')}
              >
                <Select
                  mode="tags"
                  open={false}
                  suffix={null}
                  tokenSeparators={[',', ' ']}
                  placeholder={t('mcp.anyConsumer')}
                />
              </Form.Item>
            )}
            {authType === 'jwt' && (
              <Row gutter={16}>
                <Col xs={24} md={12}>
                  <Form.Item
                    name={['auth', 'issuer']}
                    label={t('mcp.issuer')}
                    rules={[
                      { required: true, whitespace: true, message: t('validation.issuerRequired') },
                    ]}
                  >
                    <Input
                      autoComplete="off"
                      spellCheck={false}
                      placeholder="https://auth.example.com/"
                    />
                  </Form.Item>
                </Col>
                <Col xs={24} md={12}>
                  <Form.Item
                    name={['auth', 'jwksURL']}
                    label={t('mcp.jwksUrl')}
                    rules={[
                      { required: true, whitespace: true, message: t('validation.jwksRequired') },
                    ]}
                  >
                    <Input
                      autoComplete="off"
                      spellCheck={false}
                      placeholder="https://auth.example.com/.well-known/jwks.json"
                    />
                  </Form.Item>
                </Col>
                <Col xs={24} md={12}>
                  <Form.Item name={['auth', 'audience']} label={t('mcp.audience')}>
                    <Input autoComplete="off" spellCheck={false} />
                  </Form.Item>
                </Col>
                <Col xs={24} md={12}>
                  <Form.Item
                    name={['auth', 'passthrough']}
                    label={t('mcp.passthrough')}
                    valuePropName="checked"
                    extra={t('mcp.passthroughHelp')}
                  >
                    <Switch />
                  </Form.Item>
                </Col>
              </Row>
            )}

            <Divider titlePlacement="start" plain>
              {t('mcp.rateLimit')}
            </Divider>
            <Row gutter={16}>
              <Col xs={24} md={8}>
                <Form.Item name="rateLimitOn" label={t('mcp.rateLimitOn')} valuePropName="checked">
                  <Switch />
                </Form.Item>
              </Col>
              {rateLimitOn && (
                <>
                  <Col xs={12} md={8}>
                    <Form.Item
                      name={['rateLimit', 'toolCallsPerMinute']}
                      label={t('mcp.toolCallsPerMinute')}
                      rules={[
                        {
                          required: true,
                          type: 'number',
                          min: 1,
                          message: t('validation.positive'),
                        },
                      ]}
                    >
                      <InputNumber min={1} precision={0} style={{ width: '100%' }} />
                    </Form.Item>
                  </Col>
                  <Col xs={12} md={8}>
                    <Form.Item
                      name={['rateLimit', 'failOpen']}
                      label={t('mcp.failOpen')}
                      valuePropName="checked"
                      tooltip={t('mcp.failOpenHelp')}
                    >
                      <Switch />
                    </Form.Item>
                  </Col>
                </>
              )}
            </Row>

            <Divider titlePlacement="start" plain>
              {t('mcp.upstream')}
            </Divider>
            <Form.Item
              name={['server', 'timeout']}
              label={t('mcp.timeoutMs')}
              extra={t('mcp.timeoutMsHelp')}
            >
              <InputNumber min={0} precision={0} style={{ width: 200 }} />
            </Form.Item>
            <Typography.Text strong>
              <label htmlFor="mcp-server-config">{t('mcp.serverConfig')}</label>
            </Typography.Text>
            <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
              {t('mcp.serverConfigHelp')}
            </Typography.Paragraph>
            <JsonText
              id="mcp-server-config"
              value={config}
              objectOnly
              rows={6}
              onChange={(v) => setConfig(isObject(v) ? v : undefined)}
            />
            <Button
              type="primary"
              htmlType="submit"
              loading={saver.saving}
              style={{ marginTop: 16 }}
            >
              {t('common.save')}
            </Button>
          </Form>
        </Card>
      </Col>
      <Col xs={24} xl={9}>
        <Card title={t('routes.plugins')}>
          <Typography.Paragraph type="secondary">{t('mcp.pluginsHelp')}</Typography.Paragraph>
          <AttachedPlugins scope={{ type: 'mcp-server', value: server.name }} />
        </Card>
      </Col>
    </Row>
  );
}
