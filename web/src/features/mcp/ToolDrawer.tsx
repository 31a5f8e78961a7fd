import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Card,
  Col,
  Divider,
  Flex,
  Form,
  Input,
  Row,
  Select,
  Switch,
  Typography,
} from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { ApiErrorDetail, MCPServer, MCPTool } from '../../api/types';
import { EditorDrawer } from '../../components/EditorDrawer';
import { FormProblems } from '../../components/FormProblems';
import { useI18n } from '../../i18n/context';
import { formatFieldPath, parseFieldPath } from '../../lib/fieldPath';
import { useObjectSave } from '../../lib/useObjectSave';
import {
  argPositions,
  argTypes,
  fieldOfDefinitionDetail,
  formToTool,
  toolToForm,
  withTool,
  type ToolFormValues,
} from './mcp';

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

const emptyTool: ToolFormValues = {
  name: '',
  description: '',
  args: [],
  requestTemplate: { method: 'GET', url: '', headers: [] },
  responseTemplate: {},
};

/**
 * ToolDrawer edits one tool of a REST MCP server — name, description, args,
 * request and response templates — or adds one (index -1). Saving stores
 * the whole server; the server's field errors about this tool land under
 * the fields they name.
 */
export function ToolDrawer({
  server,
  index,
  tool,
  onClose,
}: {
  server: MCPServer;
  index: number;
  tool?: MCPTool;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<ToolFormValues>();
  const [base, setBase] = useState(server);
  const position = index < 0 ? (base.tools?.length ?? 0) : index;
  const saver = useObjectSave<MCPServer>({
    onReloaded: (fresh) => {
      setBase(fresh);
    },
    client: api.mcpServers,
    queryKey: queryKeys.mcpServers,
    form,
    editing: server.name,
    onSaved: (saved) => {
      queryClient.setQueryData(queryKeys.mcpServer(saved.name), saved);
      void message.success(t('mcp.toolSaved', { name: form.getFieldValue('name') as string }));
      onClose();
    },
    claimDetails: (details) =>
      details.map(fieldOfDefinitionDetail).map((d): ApiErrorDetail => {
        const path = parseFieldPath(d.field);
        return path[0] === 'tools' && path[1] === position
          ? { field: formatFieldPath(path.slice(2)), message: d.message }
          : d;
      }),
  });
  const otherNames = (base.tools ?? []).filter((_, i) => i !== index).map((x) => x.name);

  return (
    <EditorDrawer
      title={tool ? t('mcp.editToolTitle', { name: tool.name }) : t('mcp.newToolTitle')}
      onClose={onClose}
      onSave={() => form.submit()}
      saving={saver.saving}
      width={880}
    >
      <FormProblems {...saver.problems} />
      <Typography.Paragraph type="secondary">{t('mcp.templatesHelp')}</Typography.Paragraph>
      <Form<ToolFormValues>
        form={form}
        layout="vertical"
        initialValues={tool ? toolToForm(tool) : emptyTool}
        scrollToFirstError
        onFinish={(v) => {
          const next = withTool(base, index, formToTool(v, tool));
          saver.save(base.version ? { ...next, version: base.version } : next);
        }}
      >
        <Form.Item
          name="name"
          label={t('mcp.toolName')}
          rules={[
            { required: true, whitespace: true, message: t('validation.toolNameRequired') },
            {
              validator: (_, v: string | undefined) =>
                otherNames.includes((v ?? '').trim())
                  ? Promise.reject(new Error(t('validation.toolNameTaken')))
                  : Promise.resolve(),
            },
          ]}
        >
          <Input className="gh-mono" autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Form.Item
          name="description"
          label={t('mcp.toolDescription')}
          extra={t('mcp.toolDescriptionHelp')}
        >
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 8 }} />
        </Form.Item>

        <Divider titlePlacement="start" plain>
          {t('mcp.args')}
        </Divider>
        <Form.List name="args">
          {(fields, { add, remove }) => (
            <Flex vertical gap={12}>
              {fields.map((field, i) => (
                <Card
                  key={field.key}
                  size="small"
                  title={t('mcp.argN', { n: i + 1 })}
                  extra={
                    <Button
                      type="text"
                      danger
                      size="small"
                      icon={<DeleteOutlined />}
                      aria-label={t('mcp.removeArg', { n: i + 1 })}
                      onClick={() => remove(field.name)}
                    />
                  }
                >
                  <Row gutter={12}>
                    <Col xs={24} md={8}>
                      <Form.Item
                        name={[field.name, 'name']}
                        label={t('mcp.argName')}
                        rules={[
                          {
                            required: true,
                            whitespace: true,
                            message: t('validation.argNameRequired'),
                          },
                        ]}
                      >
                        <Input
                          className="gh-mono"
                          autoComplete="off"
                          spellCheck={false}
                          aria-label={t('mcp.argFieldOf', { field: t('mcp.argName'), n: i + 1 })}
                        />
                      </Form.Item>
                    </Col>
                    <Col xs={12} md={6}>
                      <Form.Item name={[field.name, 'type']} label={t('mcp.argType')}>
                        <Select options={argTypes.map((x) => ({ value: x, label: x }))} />
                      </Form.Item>
                    </Col>
                    <Col xs={12} md={6}>
                      <Form.Item
                        name={[field.name, 'position']}
                        label={t('mcp.argPosition')}
                        tooltip={t('mcp.argPositionHelp')}
                      >
                        <Select
                          options={argPositions.map((x) => ({
                            value: x,
                            label: x === '' ? t('mcp.positionAuto') : x,
                          }))}
                        />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={4}>
                      <Form.Item
                        name={[field.name, 'required']}
                        label={t('mcp.argRequired')}
                        valuePropName="checked"
                      >
                        <Switch />
                      </Form.Item>
                    </Col>
                    <Col xs={24}>
                      <Form.Item name={[field.name, 'description']} label={t('mcp.argDescription')}>
                        <Input.TextArea
                          autoSize={{ minRows: 1, maxRows: 4 }}
                          aria-label={t('mcp.argFieldOf', {
                            field: t('mcp.argDescription'),
                            n: i + 1,
                          })}
                        />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={12}>
                      <Form.Item name={[field.name, 'defaultText']} label={t('mcp.argDefault')}>
                        <Input
                          autoComplete="off"
                          spellCheck={false}
                          aria-label={t('mcp.argFieldOf', { field: t('mcp.argDefault'), n: i + 1 })}
                        />
                      </Form.Item>
                    </Col>
                    <Col xs={24} md={12}>
                      <Form.Item name={[field.name, 'enum']} label={t('mcp.argEnum')}>
                        <Select mode="tags" open={false} suffix={null} tokenSeparators={[',']} />
                      </Form.Item>
                    </Col>
                  </Row>
                </Card>
              ))}
              <Button
                icon={<PlusOutlined />}
                onClick={() => add({ name: '', type: 'string', required: false, position: '' })}
                style={{ alignSelf: 'flex-start' }}
              >
                {t('mcp.addArg')}
              </Button>
            </Flex>
          )}
        </Form.List>

        <Divider titlePlacement="start" plain>
          {t('mcp.requestTemplate')}
        </Divider>
        <Row gutter={12}>
          <Col xs={8} md={5}>
            <Form.Item name={['requestTemplate', 'method']} label={t('mcp.method')}>
              <Select options={methods.map((m) => ({ value: m, label: m }))} />
            </Form.Item>
          </Col>
          <Col xs={16} md={19}>
            <Form.Item
              name={['requestTemplate', 'url']}
              label={t('mcp.url')}
              extra={t('mcp.urlHelp')}
            >
              <Input
                className="gh-mono"
                autoComplete="off"
                spellCheck={false}
                placeholder="https://api.example.com/items/{{.args.id}}"
              />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item label={t('mcp.headers')}>
          <Form.List name={['requestTemplate', 'headers']}>
            {(fields, { add, remove }) => (
              <Flex vertical gap={8}>
                {fields.map((field, i) => (
                  <Flex key={field.key} gap={8} align="start">
                    <Form.Item name={[field.name, 'key']} style={{ flex: 1, marginBottom: 0 }}>
                      <Input
                        aria-label={t('mcp.headerName', { n: i + 1 })}
                        placeholder="Authorization"
                        autoComplete="off"
                        spellCheck={false}
                      />
                    </Form.Item>
                    <Form.Item name={[field.name, 'value']} style={{ flex: 2, marginBottom: 0 }}>
                      <Input
                        aria-label={t('mcp.headerValue', { n: i + 1 })}
                        className="gh-mono"
                        placeholder="Bearer {{.config.apiKey}}"
                        autoComplete="off"
                        spellCheck={false}
                      />
                    </Form.Item>
                    <Button
                      type="text"
                      icon={<DeleteOutlined />}
                      aria-label={t('mcp.removeHeader', { n: i + 1 })}
                      onClick={() => remove(field.name)}
                    />
                  </Flex>
                ))}
                <Button
                  icon={<PlusOutlined />}
                  onClick={() => add({ key: '', value: '' })}
                  style={{ alignSelf: 'flex-start' }}
                >
                  {t('mcp.addHeader')}
                </Button>
              </Flex>
            )}
          </Form.List>
        </Form.Item>
        <Form.Item
          name={['requestTemplate', 'body']}
          label={t('mcp.bodyTemplate')}
          dependencies={[
            ['requestTemplate', 'argsToJsonBody'],
            ['requestTemplate', 'argsToUrlParam'],
            ['requestTemplate', 'argsToFormBody'],
          ]}
          rules={[
            ({ getFieldValue }) => ({
              validator: () => {
                const on = (k: string) =>
                  (getFieldValue(['requestTemplate', k]) as boolean | undefined) === true;
                const body =
                  ((getFieldValue(['requestTemplate', 'body']) as string | undefined) ?? '') !== '';
                const modes = ['argsToJsonBody', 'argsToUrlParam', 'argsToFormBody'].filter(on);
                if (modes.length > 1) return Promise.reject(new Error(t('validation.oneArgsMode')));
                return body && (on('argsToJsonBody') || on('argsToFormBody'))
                  ? Promise.reject(new Error(t('validation.bodyOrArgs')))
                  : Promise.resolve();
              },
            }),
          ]}
        >
          <Input.TextArea
            className="gh-mono"
            autoSize={{ minRows: 2, maxRows: 12 }}
            spellCheck={false}
          />
        </Form.Item>
        <Row gutter={12}>
          {(['argsToJsonBody', 'argsToUrlParam', 'argsToFormBody'] as const).map((k) => (
            <Col xs={24} md={8} key={k}>
              <Form.Item
                name={['requestTemplate', k]}
                label={t(`mcp.${k}`)}
                valuePropName="checked"
              >
                <Switch />
              </Form.Item>
            </Col>
          ))}
        </Row>

        <Divider titlePlacement="start" plain>
          {t('mcp.responseTemplate')}
        </Divider>
        <Form.Item
          name={['responseTemplate', 'body']}
          label={t('mcp.responseBody')}
          extra={t('mcp.responseBodyHelp')}
          dependencies={[
            ['responseTemplate', 'prependBody'],
            ['responseTemplate', 'appendBody'],
          ]}
          rules={[
            ({ getFieldValue }) => ({
              validator: (_, body: string | undefined) => {
                const extra =
                  ((getFieldValue(['responseTemplate', 'prependBody']) as string | undefined) ??
                    '') +
                  ((getFieldValue(['responseTemplate', 'appendBody']) as string | undefined) ?? '');
                return (body ?? '') !== '' && extra !== ''
                  ? Promise.reject(new Error(t('validation.bodyOrWrap')))
                  : Promise.resolve();
              },
            }),
          ]}
        >
          <Input.TextArea
            className="gh-mono"
            autoSize={{ minRows: 2, maxRows: 12 }}
            spellCheck={false}
          />
        </Form.Item>
        <Row gutter={12}>
          <Col xs={24} md={12}>
            <Form.Item name={['responseTemplate', 'prependBody']} label={t('mcp.prependBody')}>
              <Input.TextArea
                className="gh-mono"
                autoSize={{ minRows: 2, maxRows: 8 }}
                spellCheck={false}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name={['responseTemplate', 'appendBody']} label={t('mcp.appendBody')}>
              <Input.TextArea
                className="gh-mono"
                autoSize={{ minRows: 2, maxRows: 8 }}
                spellCheck={false}
              />
            </Form.Item>
          </Col>
        </Row>
      </Form>
    </EditorDrawer>
  );
}
