import { useQuery } from '@tanstack/react-query';
import { Alert, App, Col, Divider, Form, Input, Row, Select, Switch, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { ApiErrorDetail, PluginInstance, ScopeType } from '../../api/types';
import { ConfigEditor } from '../../components/ConfigEditor';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import { validateDomain, validateName } from '../../lib/configValidation';
import { formatFieldPath, parseFieldPath } from '../../lib/fieldPath';
import { rule } from '../../lib/forms';
import { validateSchema } from '../../lib/jsonSchema';
import { useObjectSave } from '../../lib/useObjectSave';
import { attachablePlugins } from './plugins';

interface Values {
  name: string;
  plugin: string | undefined;
  scope: { type: ScopeType; value?: string };
  enabled: boolean;
}

/** A scope to start a new instance at, such as the route it is attached from. */
export interface ScopePreset {
  type: ScopeType;
  value?: string;
}

const scopeTypes: ScopeType[] = ['global', 'domain', 'route', 'mcp-server', 'ai-route'];

/**
 * PluginInstanceDrawer creates a plugin instance (at `preset` scope when
 * given) or edits `instance`: name, plugin, scope and enabled in a form,
 * the config in a form generated from the plugin's schema beside its raw
 * JSON.
 */
export function PluginInstanceDrawer({
  instance,
  preset,
  onClose,
}: {
  instance?: PluginInstance;
  preset?: ScopePreset;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const editing = instance?.name;
  const [version, setVersion] = useState(instance?.version);
  const [config, setConfig] = useState<Record<string, unknown>>(instance?.config ?? {});
  const [serverProblems, setServerProblems] = useState<ApiErrorDetail[]>([]);
  const [checked, setChecked] = useState(false);
  const plugin = Form.useWatch<string | undefined>('plugin', form) ?? instance?.plugin;
  const scopeType: ScopeType =
    Form.useWatch<ScopeType | undefined>(['scope', 'type'], form) ??
    instance?.scope.type ??
    preset?.type ??
    'global';

  const plugins = useQuery({
    queryKey: queryKeys.plugins,
    queryFn: ({ signal }) => api.plugins(signal),
  });
  const routes = useQuery({
    queryKey: [...queryKeys.routes, 'list', ''],
    queryFn: ({ signal }) => api.routes.list('', signal),
    enabled: scopeType === 'route',
  });
  const mcpServers = useQuery({
    queryKey: [...queryKeys.mcpServers, 'list', ''],
    queryFn: ({ signal }) => api.mcpServers.list('', signal),
    enabled: scopeType === 'mcp-server',
  });
  const aiRoutes = useQuery({
    queryKey: [...queryKeys.aiRoutes, 'list', ''],
    queryFn: ({ signal }) => api.aiRoutes.list('', signal),
    enabled: scopeType === 'ai-route',
  });
  const schema = plugins.data?.items.find((p) => p.name === plugin)?.configSchema;

  const clientProblems = useMemo(
    () =>
      schema
        ? validateSchema(schema, config).map((p) => ({
            field: formatFieldPath(p.path),
            message: t(p.key, p.vars),
          }))
        : [],
    [schema, config, t],
  );
  const problems = checked ? [...serverProblems, ...clientProblems] : serverProblems;

  const saver = useObjectSave<PluginInstance>({
    onReloaded: (fresh) => {
      form.setFieldsValue({
        plugin: fresh.plugin,
        scope: { type: fresh.scope.type, value: fresh.scope.value },
        enabled: fresh.enabled ?? true,
      });
      setConfig(fresh.config ?? {});
      setServerProblems([]);
      setVersion(fresh.version);
    },
    client: api.pluginInstances,
    queryKey: queryKeys.pluginInstances,
    form,
    editing,
    onSaved: (saved) => {
      void message.success(
        t(editing ? 'instances.updated' : 'instances.created', { name: saved.name }),
      );
      onClose();
    },
    claimDetails: (details) => {
      const mine: ApiErrorDetail[] = [];
      const others: ApiErrorDetail[] = [];
      for (const d of details) {
        const path = parseFieldPath(d.field);
        if (path[0] === 'config') {
          mine.push({ field: formatFieldPath(path.slice(1)), message: d.message });
        } else {
          others.push(d);
        }
      }
      setServerProblems(mine);
      return others;
    },
  });

  const initial: Values = instance
    ? {
        name: instance.name,
        plugin: instance.plugin,
        scope: { type: instance.scope.type, value: instance.scope.value },
        enabled: instance.enabled ?? true,
      }
    : {
        name: '',
        plugin: undefined,
        scope: { type: preset?.type ?? 'global', value: preset?.value },
        enabled: true,
      };

  return (
    <EditorDrawer
      title={editing ? t('instances.editTitle', { name: editing }) : t('instances.newTitle')}
      onClose={onClose}
      onSave={() => {
        setChecked(true);
        form.submit();
      }}
      saving={saver.saving}
      width={1040}
    >
      <FormProblems {...saver.problems} />
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={initial}
        onValuesChange={(changed: Partial<Values>) => {
          if (changed.plugin !== undefined && editing === undefined) {
            setConfig({});
            setServerProblems([]);
            setChecked(false);
          }
        }}
        onFinish={(v) => {
          if (clientProblems.length > 0) return;
          const obj: PluginInstance = {
            name: v.name.trim(),
            plugin: v.plugin ?? '',
            scope:
              v.scope.type === 'global'
                ? { type: 'global' }
                : { type: v.scope.type, value: (v.scope.value ?? '').trim() },
            config,
            enabled: v.enabled,
          };
          if (version !== undefined && version > 0) obj.version = version;
          setServerProblems([]);
          saver.save(obj);
        }}
      >
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              name="name"
              label={t('instances.name')}
              rules={[rule(t, validateName)]}
              extra={t('instances.nameHelp')}
            >
              <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              name="plugin"
              label={t('instances.plugin')}
              rules={[{ required: true, message: t('validation.pluginRequired') }]}
            >
              <Select
                disabled={editing !== undefined}
                loading={plugins.isPending}
                showSearch
                options={attachablePlugins(plugins.data?.items ?? []).map((p) => ({
                  value: p.name,
                  label: p.name,
                  disabled: p.status !== 'verified',
                }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item name={['scope', 'type']} label={t('instances.scope')}>
              <Select
                options={scopeTypes.map((s) => ({ value: s, label: t(`instances.scopes.${s}`) }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={10}>
            {scopeType === 'domain' && (
              <Form.Item
                name={['scope', 'value']}
                label={t('instances.scopeDomain')}
                rules={[rule(t, validateDomain)]}
              >
                <Input placeholder="api.example.com" autoComplete="off" spellCheck={false} />
              </Form.Item>
            )}
            {scopeType === 'route' && (
              <Form.Item
                name={['scope', 'value']}
                label={t('instances.scopeRoute')}
                rules={[{ required: true, message: t('validation.routeRequired') }]}
              >
                <Select
                  showSearch
                  loading={routes.isPending}
                  options={(routes.data?.items ?? []).map((r) => ({
                    value: r.name,
                    label: r.name,
                  }))}
                />
              </Form.Item>
            )}
            {scopeType === 'mcp-server' && (
              <Form.Item
                name={['scope', 'value']}
                label={t('instances.scopeMcp')}
                rules={[{ required: true, message: t('validation.mcpServerRequired') }]}
              >
                <Select
                  showSearch
                  loading={mcpServers.isPending}
                  options={(mcpServers.data?.items ?? []).map((m) => ({
                    value: m.name,
                    label: m.name,
                  }))}
                />
              </Form.Item>
            )}
            {scopeType === 'ai-route' && (
              <Form.Item
                name={['scope', 'value']}
                label={t('instances.scopeAiRoute')}
                rules={[{ required: true, message: t('validation.aiRouteRequired') }]}
              >
                <Select
                  showSearch
                  loading={aiRoutes.isPending}
                  options={(aiRoutes.data?.items ?? []).map((r) => ({
                    value: r.name,
                    label: r.name,
                  }))}
                />
              </Form.Item>
            )}
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="enabled" label={t('instances.enabled')} valuePropName="checked">
              <Switch />
            </Form.Item>
          </Col>
        </Row>
        <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>
          {t(`instances.scopeHelp.${scopeType}`)}
        </Typography.Paragraph>
      </Form>
      <Divider titlePlacement="start" plain>
        {t('instances.config')}
      </Divider>
      {plugin === undefined ? (
        <Alert type="info" showIcon title={t('instances.choosePlugin')} />
      ) : (
        <>
          {schema?.description && (
            <Typography.Paragraph type="secondary">{schema.description}</Typography.Paragraph>
          )}
          {!schema && !plugins.isPending && (
            <Alert
              type="info"
              showIcon
              style={{ marginBottom: 12 }}
              title={t('instances.noSchema')}
            />
          )}
          <ConfigEditor
            schema={schema}
            value={config}
            onChange={(v) => {
              setConfig(v);
              setChecked(true);
            }}
            problems={problems}
            idPrefix="config"
            jsonLabel={t('instances.configJson')}
          />
        </>
      )}
    </EditorDrawer>
  );
}
