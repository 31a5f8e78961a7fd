import { PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Card, Empty, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { APIToken } from '../../api/types';
import { DeleteButton } from '../../components/DeleteButton';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { CreateTokenDialog } from './CreateTokenDialog';

/** TokensCard lists the API tokens, creates new ones and revokes them (one, or all at once). */
export function TokensCard() {
  const { t, formatDateTime } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const tokens = useQuery({
    queryKey: queryKeys.tokens,
    queryFn: ({ signal }) => api.tokens(signal),
  });
  const when = (iso: string | null, none: string) => (iso ? formatDateTime(iso) : none);

  return (
    <Card
      title={t('account.tokens.title')}
      extra={
        <Space>
          <DeleteButton
            size="middle"
            label={t('account.tokens.revokeAll')}
            question={t('account.tokens.revokeAllQuestion')}
            done={t('account.tokens.revokedAll')}
            onDelete={async () => {
              await api.revokeAllTokens();
              await queryClient.invalidateQueries({ queryKey: queryKeys.tokens });
            }}
          />
          <Button icon={<PlusOutlined />} onClick={() => setCreating(true)}>
            {t('account.tokens.create')}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t('account.tokens.intro')}</Typography.Paragraph>
      {tokens.isError && (
        <div style={{ marginBottom: 12 }}>
          <ErrorAlert error={tokens.error} onRetry={() => void tokens.refetch()} />
        </div>
      )}
      <Table<APIToken>
        rowKey="id"
        size="small"
        loading={tokens.isPending}
        dataSource={tokens.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 'max-content' }}
        locale={{
          emptyText: (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('account.tokens.empty')} />
          ),
        }}
        columns={[
          { title: t('account.tokens.name'), dataIndex: 'name' },
          {
            title: t('account.tokens.scope'),
            dataIndex: 'scope',
            render: (s: APIToken['scope']) => (
              <Tag color={s === 'write' ? 'orange' : 'blue'}>{t(`account.tokens.scopes.${s}`)}</Tag>
            ),
          },
          {
            title: t('account.tokens.prefix'),
            dataIndex: 'prefix',
            render: (p: string) => <code>{p}…</code>,
          },
          { title: t('account.tokens.user'), dataIndex: 'user' },
          {
            title: t('account.createdAt'),
            key: 'createdAt',
            render: (_, tok) => formatDateTime(tok.createdAt),
          },
          {
            title: t('account.tokens.expiresAt'),
            key: 'expiresAt',
            render: (_, tok) => when(tok.expiresAt, t('account.tokens.never')),
          },
          {
            title: t('account.tokens.lastUsedAt'),
            key: 'lastUsedAt',
            render: (_, tok) => when(tok.lastUsedAt, t('account.tokens.neverUsed')),
          },
          {
            title: t('config.actions'),
            key: 'actions',
            render: (_, tok) => (
              <DeleteButton
                text
                label={t('account.tokens.revokeThing', { name: tok.name })}
                question={t('account.tokens.revokeQuestion', { name: tok.name })}
                done={t('account.tokens.revoked', { name: tok.name })}
                onDelete={async () => {
                  await api.deleteToken(tok.id);
                  await queryClient.invalidateQueries({ queryKey: queryKeys.tokens });
                }}
              />
            ),
          },
        ]}
      />
      {creating && <CreateTokenDialog onClose={() => setCreating(false)} />}
    </Card>
  );
}
