import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
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
  Typography,
} from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { PathType, Route } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import {
  validateDomains,
  validateHeaderMatchName,
  validateHeaderValue,
  validateMethods,
  validateName,
  validateRoutePath,
} from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { useObjectSave } from '../../lib/useObjectSave';
import { AttachedPlugins } from '../pluginInstances/AttachedPlugins';
import {
  commonMethods,
  emptyRoute,
  formToRoute,
  routeToForm,
  type RouteFormValues,
} from './routeForm';

const pathTypes: PathType[] = ['prefix', 'exact', 'regex'];

function listRule<T>(
  t: ReturnType<typeof useI18n>['t'],
  check: (v: T | undefined) => ReturnType<typeof validateMethods>,
) {
  return {
    validator: (_: unknown, v: T | undefined) => {
      const p = check(v);
      return p ? Promise.reject(new Error(t(p.key, p.vars))) : Promise.resolve();
    },
  };
}

/** RouteDrawer creates a route, or edits `route` when given, with the plugins attached to it. */
export function RouteDrawer({ route, onClose }: { route?: Route; onClose: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<RouteFormValues>();
  const editing = route?.name;
  const [version, setVersion] = useState(route?.version);
  const pathType = (Form.useWatch(['path', 'type'], form) as PathType | undefined) ?? 'prefix';
  const services = useQuery({
    queryKey: [...queryKeys.services, 'list', ''],
    queryFn: ({ signal }) => api.services.list('', signal),
  });
  const saver = useObjectSave<Route>({
    onReloaded: (fresh) => {
      form.resetFields();
      form.setFieldsValue(routeToForm(fresh));
      setVersion(fresh.version);
    },
    client: api.routes,
    queryKey: queryKeys.routes,
    form,
    editing,
    onSaved: (saved) => {
      void message.success(t(editing ? 'routes.updated' : 'routes.created', { name: saved.name }));
      onClose();
    },
  });
  const initial = route ? routeToForm(route) : emptyRoute(services.data?.items[0]?.name);

  return (
    <EditorDrawer
      title={editing ? t('routes.editTitle', { name: editing }) : t('routes.newTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
    >
      <FormProblems {...saver.problems} />
      <Form<RouteFormValues>
        form={form}
        layout="vertical"
        initialValues={initial}
        scrollToFirstError
        onFinish={(v) => saver.save(formToRoute(v, version))}
      >
        <Row gutter={16}>
          <Col xs={24} md={16}>
            <Form.Item
              name="name"
              label={t('routes.name')}
              rules={[rule(t, validateName)]}
              extra={t('services.nameHelp')}
            >
              <Input disabled={editing !== undefined} autoComplete="off" spellCheck={false} />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item name="enabled" label={t('routes.enabled')} valuePropName="checked">
              <Switch />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="domains"
          label={t('routes.domains')}
          extra={t('routes.domainsHelp')}
          rules={[listRule<string[]>(t, validateDomains)]}
        >
          <Select
            mode="tags"
            open={false}
            suffix={null}
            tokenSeparators={[',', ' ']}
            placeholder={t('routes.anyHost')}
          />
        </Form.Item>
        <Row gutter={16}>
          <Col xs={24} md={8}>
            <Form.Item name={['path', 'type']} label={t('routes.pathType')}>
              <Select
                options={pathTypes.map((p) => ({ value: p, label: t(`routes.pathTypes.${p}`) }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={16}>
            <Form.Item
              name={['path', 'value']}
              label={t(pathType === 'regex' ? 'routes.pathRegex' : 'routes.pathValue')}
              dependencies={[['path', 'type']]}
              extra={t(`routes.pathHelp.${pathType}`)}
              rules={[rule(t, (v) => validateRoutePath(pathType, v))]}
            >
              <Input
                className="gh-mono"
                placeholder={pathType === 'regex' ? '/users/[0-9]+' : '/api'}
                autoComplete="off"
                spellCheck={false}
              />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={16}>
          <Col xs={24} md={16}>
            <Form.Item
              name="service"
              label={t('routes.service')}
              rules={[{ required: true, message: t('validation.serviceRequired') }]}
              extra={
                !services.isPending && (services.data?.items.length ?? 0) === 0
                  ? t('routes.noServices')
                  : undefined
              }
            >
              <Select
                showSearch
                loading={services.isPending}
                options={(services.data?.items ?? []).map((s) => ({
                  value: s.name,
                  label: s.name,
                }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item
              name="priority"
              label={t('routes.priority')}
              extra={t('routes.priorityHelp')}
            >
              <InputNumber style={{ width: '100%' }} precision={0} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="methods"
          label={t('routes.methods')}
          extra={t('routes.methodsHelp')}
          rules={[listRule<string[]>(t, validateMethods)]}
        >
          <Select
            mode="tags"
            placeholder={t('routes.anyMethod')}
            options={commonMethods.map((m) => ({ value: m, label: m }))}
          />
        </Form.Item>
        <Form.Item label={t('routes.headers')} extra={t('routes.headersHelp')}>
          <Form.List name="headers">
            {(fields, { add, remove }) => (
              <Flex vertical gap={8}>
                {fields.map((field, i) => (
                  <Flex key={field.key} gap={8} align="start">
                    <Form.Item
                      name={[field.name, 'name']}
                      rules={[rule(t, validateHeaderMatchName)]}
                      style={{ flex: 1, marginBottom: 0 }}
                    >
                      <Input
                        aria-label={t('routes.headerName', { n: i + 1 })}
                        placeholder="x-canary"
                        autoComplete="off"
                        spellCheck={false}
                      />
                    </Form.Item>
                    <Form.Item
                      name={[field.name, 'value']}
                      rules={[rule(t, validateHeaderValue)]}
                      style={{ flex: 1, marginBottom: 0 }}
                    >
                      <Input
                        aria-label={t('routes.headerValue', { n: i + 1 })}
                        placeholder="true"
                        autoComplete="off"
                        spellCheck={false}
                      />
                    </Form.Item>
                    <Button
                      type="text"
                      icon={<DeleteOutlined />}
                      aria-label={t('routes.removeHeader', { n: i + 1 })}
                      onClick={() => remove(field.name)}
                    />
                  </Flex>
                ))}
                <Button
                  icon={<PlusOutlined />}
                  onClick={() => add({ name: '', value: '' })}
                  style={{ alignSelf: 'flex-start' }}
                >
                  {t('routes.addHeader')}
                </Button>
              </Flex>
            )}
          </Form.List>
        </Form.Item>
      </Form>
      <Divider titlePlacement="start" plain>
        {t('routes.plugins')}
      </Divider>
      {editing ? (
        <AttachedPlugins scope={{ type: 'route', value: editing }} />
      ) : (
        <Typography.Text type="secondary">{t('routes.pluginsAfterCreate')}</Typography.Text>
      )}
    </EditorDrawer>
  );
}
