import { DownloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Flex, Input, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { MCPServer } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormProblems } from '../../components/FormProblems';
import { Loading } from '../../components/Loading';
import { useI18n } from '../../i18n/context';
import { isApiError } from '../../api/client';
import { definitionForEditing } from './mcp';
import { parseYAMLObject, toYAML } from './yaml';

/**
 * DefinitionEditor shows the whole definition of a server as YAML — the
 * Higress format — to edit, save (checked against the version read) or
 * download.
 */
export function DefinitionEditor({ server }: { server: MCPServer }) {
  const yaml = useQuery({
    queryKey: ['mcp-yaml', server.name, server.version],
    queryFn: () => toYAML(definitionForEditing(server)),
    staleTime: Infinity,
  });
  if (yaml.isPending) return <Loading />;
  if (yaml.isError) return <ErrorAlert error={yaml.error} />;
  return <Editor key={`${server.version}`} server={server} initial={yaml.data} />;
}

function Editor({ server, initial }: { server: MCPServer; initial: string }) {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [text, setText] = useState(initial);
  const [syntax, setSyntax] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: async () => {
      const parsed = await parseYAMLObject(text);
      if (!parsed.ok) {
        setSyntax(parsed.message === 'not-a-mapping' ? t('mcp.yamlNotMapping') : parsed.message);
        return undefined;
      }
      setSyntax(null);
      const body = { ...parsed.value, version: server.version } as MCPServer;
      return api.mcpServers.update(server.name, body);
    },
    onSuccess: (saved) => {
      if (!saved) return;
      queryClient.setQueryData(queryKeys.mcpServer(saved.name), saved);
      void queryClient.invalidateQueries({ queryKey: queryKeys.mcpServers });
      void message.success(t('mcp.definitionSaved'));
    },
  });
  const conflict = isApiError(save.error, 'version_conflict');
  const changed = text !== initial;

  return (
    <Flex vertical gap={12}>
      <Typography.Text type="secondary">{t('mcp.definitionHelp')}</Typography.Text>
      {conflict && (
        <FormProblems
          failure={null}
          conflict
          onReload={() =>
            void queryClient.invalidateQueries({ queryKey: queryKeys.mcpServer(server.name) })
          }
        />
      )}
      {save.isError && !conflict && <ErrorAlert error={save.error} />}
      {syntax && (
        <Alert
          type="error"
          showIcon
          role="alert"
          title={t('mcp.yamlInvalid')}
          description={syntax}
        />
      )}
      <label htmlFor="mcp-definition" className="gh-visually-hidden">
        {t('mcp.tabs.definition')}
      </label>
      <Input.TextArea
        id="mcp-definition"
        className="gh-mono"
        value={text}
        spellCheck={false}
        autoSize={{ minRows: 16, maxRows: 40 }}
        onChange={(e) => setText(e.target.value)}
        style={{ fontSize: 12 }}
      />
      <Flex gap={8} wrap justify="space-between">
        <Button
          icon={<DownloadOutlined />}
          onClick={() => {
            const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
            const a = document.createElement('a');
            a.href = url;
            a.download = `${server.name}.yaml`;
            a.click();
            URL.revokeObjectURL(url);
          }}
        >
          {t('mcp.download')}
        </Button>
        <Flex gap={8}>
          <Button disabled={!changed} onClick={() => setText(initial)}>
            {t('mcp.discard')}
          </Button>
          <Button
            type="primary"
            disabled={!changed}
            loading={save.isPending}
            onClick={() => save.mutate()}
          >
            {t('common.save')}
          </Button>
        </Flex>
      </Flex>
    </Flex>
  );
}
