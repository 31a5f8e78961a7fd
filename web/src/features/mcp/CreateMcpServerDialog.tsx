import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Col,
  Flex,
  Form,
  Input,
  Modal,
  Row,
  Select,
  Tabs,
  Typography,
} from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { queryKeys, useApi } from '../../api/context';
import type { MCPServer } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FileTextButton } from '../../components/FileTextButton';
import { useI18n } from '../../i18n/context';
import { validateMCPServerName } from '../../lib/configValidation';
import { rule } from '../../lib/forms';
import { toYAML } from './yaml';

type Tab = 'yaml' | 'openapi' | 'form';

/**
 * CreateMcpServerDialog adds an MCP server three ways: a Higress YAML
 * definition pasted or opened from a file (sent as it is), an OpenAPI
 * document imported into a definition to review and save, or a short form
 * for an empty REST server or an mcp-proxy.
 */
export function CreateMcpServerDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [tab, setTab] = useState<Tab>('yaml');

  const created = async (s: MCPServer) => {
    await queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers });
    void message.success(t('mcp.created', { name: s.name }));
    onClose();
    void navigate(`/mcp-servers/${encodeURIComponent(s.name)}`);
  };

  return (
    <Modal
      open
      title={t('mcp.newTitle')}
      onCancel={onClose}
      footer={null}
      width={920}
      destroyOnHidden
    >
      <Tabs
        activeKey={tab}
        onChange={(k) => setTab(k as Tab)}
        items={[
          { key: 'yaml', label: t('mcp.fromYaml'), children: <FromYAML onCreated={created} /> },
          {
            key: 'openapi',
            label: t('mcp.fromOpenApi'),
            children: <FromOpenAPI onCreated={created} />,
          },
          { key: 'form', label: t('mcp.fromForm'), children: <FromForm onCreated={created} /> },
        ]}
      />
    </Modal>
  );
}

type OnCreated = (s: MCPServer) => Promise<void>;

function YAMLBox({
  id,
  label,
  value,
  onChange,
  rows = 16,
  placeholder,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  rows?: number;
  placeholder?: string;
}) {
  return (
    <>
      <label htmlFor={id} style={{ display: 'block', marginBottom: 8, fontWeight: 600 }}>
        {label}
      </label>
      <Input.TextArea
        id={id}
        className="gh-mono"
        rows={rows}
        spellCheck={false}
        value={value}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value)}
      />
    </>
  );
}

const yamlExample = `server:
  name: time
tools:
  - name: get-current-time
    description: The current time in a time zone
    args:
      - name: timeZone
        type: string
        default: Asia/Shanghai
    responseTemplate:
      body: '{{ dateInZone "2006-01-02 15:04:05" now .args.timeZone }}'`;

function FromYAML({ onCreated }: { onCreated: OnCreated }) {
  const { t } = useI18n();
  const api = useApi();
  const [text, setText] = useState('');
  const create = useMutation({
    mutationFn: () => api.createMCPServerFromYAML(text),
    onSuccess: onCreated,
  });
  return (
    <Flex vertical gap={12}>
      <Typography.Text type="secondary">{t('mcp.fromYamlHelp')}</Typography.Text>
      <div>
        <FileTextButton label={t('mcp.openFile')} accept=".yaml,.yml,.json" onText={setText} />
      </div>
      <div>
        <YAMLBox
          id="mcp-yaml"
          label={t('mcp.yamlDefinition')}
          value={text}
          onChange={setText}
          placeholder={yamlExample}
        />
      </div>
      {create.isError && <ErrorAlert error={create.error} />}
      <Flex justify="flex-end">
        <Button
          type="primary"
          disabled={text.trim() === ''}
          loading={create.isPending}
          onClick={() => create.mutate()}
        >
          {t('mcp.create')}
        </Button>
      </Flex>
    </Flex>
  );
}

function FromOpenAPI({ onCreated }: { onCreated: OnCreated }) {
  const { t } = useI18n();
  const api = useApi();
  const [form] = Form.useForm<{ name: string; baseURL?: string }>();
  const [doc, setDoc] = useState('');
  const [review, setReview] = useState<{ yaml: string; tools: number } | null>(null);
  const importDoc = useMutation({
    mutationFn: async (v: { name: string; baseURL?: string }) => {
      const def = await api.importOpenAPI(v.name.trim(), (v.baseURL ?? '').trim(), doc);
      const copy: Record<string, unknown> = { ...def };
      delete copy.version;
      return { yaml: await toYAML(copy), tools: def.tools?.length ?? 0 };
    },
    onSuccess: setReview,
  });
  const save = useMutation({
    mutationFn: () => api.createMCPServerFromYAML(review?.yaml ?? ''),
    onSuccess: onCreated,
  });

  if (review) {
    return (
      <Flex vertical gap={12}>
        <Alert
          type="info"
          showIcon
          title={t('mcp.reviewTitle', { n: review.tools })}
          description={t('mcp.reviewHelp')}
        />
        <YAMLBox
          id="mcp-openapi-review"
          label={t('mcp.reviewDefinition')}
          value={review.yaml}
          onChange={(yaml) => setReview({ ...review, yaml })}
          rows={20}
        />
        {save.isError && <ErrorAlert error={save.error} />}
        <Flex justify="space-between">
          <Button onClick={() => setReview(null)}>{t('mcp.back')}</Button>
          <Button type="primary" loading={save.isPending} onClick={() => save.mutate()}>
            {t('mcp.saveServer')}
          </Button>
        </Flex>
      </Flex>
    );
  }
  return (
    <Form form={form} layout="vertical" onFinish={(v) => importDoc.mutate(v)}>
      <Typography.Paragraph type="secondary">{t('mcp.fromOpenApiHelp')}</Typography.Paragraph>
      <Row gutter={16}>
        <Col xs={24} md={10}>
          <Form.Item name="name" label={t('mcp.name')} rules={[rule(t, validateMCPServerName)]}>
            <Input autoComplete="off" spellCheck={false} placeholder="petstore" />
          </Form.Item>
        </Col>
        <Col xs={24} md={14}>
          <Form.Item name="baseURL" label={t('mcp.baseUrl')} extra={t('mcp.baseUrlHelp')}>
            <Input autoComplete="off" spellCheck={false} placeholder="https://api.example.com/v1" />
          </Form.Item>
        </Col>
      </Row>
      <Flex vertical gap={12}>
        <div>
          <FileTextButton
            label={t('mcp.openFile')}
            accept=".yaml,.yml,.json"
            onText={(text) => setDoc(text)}
          />
        </div>
        <div>
          <YAMLBox
            id="mcp-openapi"
            label={t('mcp.openApiDocument')}
            value={doc}
            onChange={setDoc}
          />
        </div>
        {importDoc.isError && <ErrorAlert error={importDoc.error} />}
        <Flex justify="flex-end">
          <Button
            type="primary"
            htmlType="submit"
            disabled={doc.trim() === ''}
            loading={importDoc.isPending}
          >
            {t('mcp.import')}
          </Button>
        </Flex>
      </Flex>
    </Form>
  );
}

interface FormValues {
  name: string;
  type: 'rest' | 'mcp-proxy';
  mcpServerURL?: string;
  transport?: 'http' | 'sse';
}

function FromForm({ onCreated }: { onCreated: OnCreated }) {
  const { t } = useI18n();
  const api = useApi();
  const [form] = Form.useForm<FormValues>();
  const type = (Form.useWatch('type', form) as FormValues['type'] | undefined) ?? 'rest';
  const create = useMutation({
    mutationFn: (v: FormValues) => {
      const name = v.name.trim();
      const server: MCPServer['server'] = { name };
      // The server fills path and ssePath in when they are left out.
      const body: Record<string, unknown> = { name, type: v.type, server };
      if (v.type === 'mcp-proxy') {
        server.mcpServerURL = (v.mcpServerURL ?? '').trim();
        server.transport = v.transport ?? 'http';
      } else {
        body.tools = [];
      }
      return api.mcpServers.create(body as unknown as MCPServer);
    },
    onSuccess: onCreated,
  });
  return (
    <Form<FormValues>
      form={form}
      layout="vertical"
      initialValues={{ type: 'rest', transport: 'http' }}
      onFinish={(v) => create.mutate(v)}
    >
      <Typography.Paragraph type="secondary">{t('mcp.fromFormHelp')}</Typography.Paragraph>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name="name" label={t('mcp.name')} rules={[rule(t, validateMCPServerName)]}>
            <Input autoComplete="off" spellCheck={false} />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="type" label={t('mcp.type')}>
            <Select
              options={[
                { value: 'rest', label: t('mcp.types.rest') },
                { value: 'mcp-proxy', label: t('mcp.types.mcp-proxy') },
              ]}
            />
          </Form.Item>
        </Col>
      </Row>
      {type === 'mcp-proxy' && (
        <Row gutter={16}>
          <Col xs={24} md={16}>
            <Form.Item
              name="mcpServerURL"
              label={t('mcp.upstreamUrl')}
              rules={[{ required: true, message: t('validation.urlRequired') }]}
            >
              <Input autoComplete="off" spellCheck={false} placeholder="http://10.0.0.7:3000/mcp" />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item name="transport" label={t('mcp.transport')}>
              <Select
                options={[
                  { value: 'http', label: t('mcp.streamable') },
                  { value: 'sse', label: t('mcp.sse') },
                ]}
              />
            </Form.Item>
          </Col>
        </Row>
      )}
      {create.isError && (
        <div style={{ marginBottom: 12 }}>
          <ErrorAlert error={create.error} />
        </div>
      )}
      <Flex justify="flex-end">
        <Button type="primary" htmlType="submit" loading={create.isPending}>
          {t('mcp.create')}
        </Button>
      </Flex>
    </Form>
  );
}
