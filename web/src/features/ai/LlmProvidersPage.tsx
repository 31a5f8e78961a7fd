import { EditOutlined, ExperimentOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { LLMProvider } from '../../api/types';
import { ConfigListPage } from '../../components/ConfigListPage';
import { DeleteButton } from '../../components/DeleteButton';
import { useI18n } from '../../i18n/context';
import { useDebounced } from '../../lib/useDebounced';
import { routesUsing } from './aiRouteForm';
import { ProviderDrawer } from './ProviderDrawer';
import { providerTypeLabels } from './providerForm';
import { TestProviderDialog } from './TestProviderDialog';

type Editing = { mode: 'new' } | { mode: 'edit'; provider: LLMProvider } | null;

/** LlmProvidersPage lists the LLM providers, with search, create, edit, test and delete. */
export default function LlmProvidersPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const [testing, setTesting] = useState<LLMProvider | null>(null);
  const providers = useQuery({
    queryKey: [...queryKeys.llmProviders, 'list', q],
    queryFn: ({ signal }) => api.llmProviders.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const routes = useQuery({
    queryKey: [...queryKeys.aiRoutes, 'list', ''],
    queryFn: ({ signal }) => api.aiRoutes.list('', signal),
  });
  const usedBy = (name: string) => routesUsing(routes.data?.items ?? [], name);

  return (
    <>
      <ConfigListPage<LLMProvider>
        title={t('ai.providers.title')}
        intro={t('ai.providers.intro')}
        newLabel={t('ai.providers.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('ai.providers.empty')}
        list={providers}
        columns={[
          {
            title: t('ai.providers.name'),
            dataIndex: 'name',
            render: (name: string, p) => (
              <Button
                type="link"
                style={{ padding: 0 }}
                onClick={() => setEditing({ mode: 'edit', provider: p })}
              >
                {name}
              </Button>
            ),
          },
          {
            title: t('ai.providers.type'),
            key: 'type',
            render: (_, p) => providerTypeLabels[p.type] ?? p.type,
          },
          {
            title: t('ai.providers.endpoint'),
            key: 'endpoint',
            render: (_, p) =>
              p.endpoint ? (
                <Typography.Text className="gh-mono">{p.endpoint}</Typography.Text>
              ) : (
                <Typography.Text type="secondary">
                  {t('ai.providers.endpointDefault')}
                </Typography.Text>
              ),
          },
          {
            title: t('ai.providers.tokens'),
            key: 'tokens',
            render: (_, p) =>
              p.tokens.length > 0 ? (
                t('ai.providers.tokensStored', { n: p.tokens.length })
              ) : (
                <Typography.Text type="secondary">
                  {t('ai.providers.noTokensStored')}
                </Typography.Text>
              ),
          },
          {
            title: t('ai.providers.protocol'),
            key: 'protocol',
            render: (_, p) => t(`ai.providers.protocols.${p.protocol ?? 'openai'}`),
          },
          {
            title: t('ai.providers.usedBy'),
            key: 'usedBy',
            render: (_, p) => {
              const list = usedBy(p.name);
              return list.length === 0 ? (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ) : (
                <Space size={4} wrap>
                  {list.map((r) => (
                    <Tag key={r}>{r}</Tag>
                  ))}
                </Space>
              );
            },
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, p) => (
              <Space>
                <Button
                  size="small"
                  icon={<ExperimentOutlined />}
                  aria-label={t('ai.providers.testThing', { name: p.name })}
                  onClick={() => setTesting(p)}
                >
                  {t('ai.providers.test')}
                </Button>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('config.editThing', { name: p.name })}
                  onClick={() => setEditing({ mode: 'edit', provider: p })}
                />
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: p.name })}
                  question={
                    usedBy(p.name).length > 0
                      ? t('ai.providers.deleteUsed', {
                          name: p.name,
                          routes: usedBy(p.name).join(', '),
                        })
                      : t('ai.providers.deleteQuestion', { name: p.name })
                  }
                  done={t('ai.providers.deleted', { name: p.name })}
                  onDelete={async () => {
                    await api.llmProviders.remove(p.name, p.version);
                    await queryClient.invalidateQueries({ queryKey: queryKeys.llmProviders });
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <ProviderDrawer
          provider={editing.mode === 'edit' ? editing.provider : undefined}
          onClose={() => setEditing(null)}
        />
      )}
      {testing && <TestProviderDialog provider={testing} onClose={() => setTesting(null)} />}
    </>
  );
}
