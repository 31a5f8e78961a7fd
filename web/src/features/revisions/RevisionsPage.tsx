import { RollbackOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Col, Empty, Popconfirm, Row, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { Revision } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { PageHeader } from '../../components/PageHeader';
import { useI18n, type MessageKey } from '../../i18n/context';
import { describeError } from '../../lib/errors';

const pageSize = 25;

const actionColor: Record<string, string> = { create: 'green', update: 'blue', delete: 'red' };

function kindKey(kind: string): MessageKey | undefined {
  switch (kind) {
    case 'service':
    case 'route':
    case 'plugin-instance':
    case 'mcp-server':
      return `revisions.kinds.${kind}`;
    default:
      return undefined;
  }
}

function actionKey(action: string): MessageKey | undefined {
  switch (action) {
    case 'create':
    case 'update':
    case 'delete':
      return `revisions.actions.${action}`;
    default:
      return undefined;
  }
}

/** RevisionsPage shows who changed which object when, with the object before and after, and rolls changes back. */
export default function RevisionsPage() {
  const { t, formatDateTime } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [page, setPage] = useState(1);
  const revisions = useQuery({
    queryKey: [...queryKeys.revisions, page],
    queryFn: ({ signal }) =>
      api.revisions({ limit: pageSize, offset: (page - 1) * pageSize }, signal),
    placeholderData: (prev) => prev,
  });
  const rollback = useMutation({
    mutationFn: (id: number) => api.rollback(id),
    onSuccess: (r) => {
      void message.success(t('revisions.rolledBack', { id: r.rolledBack, name: r.name }));
      // Every view of configuration may have changed.
      void queryClient.invalidateQueries();
    },
    onError: (err) => void message.error(describeError(err, t).message, 8),
  });

  return (
    <>
      <PageHeader title={t('revisions.title')} />
      <Typography.Paragraph type="secondary">{t('revisions.intro')}</Typography.Paragraph>
      {revisions.isError && (
        <div style={{ marginBottom: 12 }}>
          <ErrorAlert error={revisions.error} onRetry={() => void revisions.refetch()} />
        </div>
      )}
      <Table<Revision>
        rowKey="id"
        size="middle"
        loading={revisions.isPending}
        dataSource={revisions.data?.items ?? []}
        scroll={{ x: 'max-content' }}
        pagination={{
          current: page,
          pageSize,
          total: revisions.data?.total ?? 0,
          hideOnSinglePage: true,
          showSizeChanger: false,
          onChange: setPage,
        }}
        locale={{
          emptyText: (
            <Empty description={t('revisions.empty')} image={Empty.PRESENTED_IMAGE_SIMPLE} />
          ),
        }}
        expandable={{
          expandedRowRender: (r) => <RevisionDiff revision={r} />,
        }}
        columns={[
          { title: '#', dataIndex: 'id' },
          {
            title: t('revisions.when'),
            key: 'when',
            render: (_, r) => formatDateTime(r.createdAt),
          },
          { title: t('revisions.user'), dataIndex: 'user' },
          {
            title: t('revisions.object'),
            key: 'object',
            render: (_, r) => {
              const k = kindKey(r.kind);
              return (
                <>
                  <Tag>{k ? t(k) : r.kind}</Tag>
                  <Typography.Text strong>{r.name}</Typography.Text>
                </>
              );
            },
          },
          {
            title: t('revisions.action'),
            key: 'action',
            render: (_, r) => {
              const k = actionKey(r.action);
              return <Tag color={actionColor[r.action]}>{k ? t(k) : r.action}</Tag>;
            },
          },
          {
            title: t('config.actions'),
            key: 'rollback',
            render: (_, r) => (
              <Popconfirm
                title={t('revisions.rollbackQuestion', { id: r.id, name: r.name })}
                description={t(
                  r.before === null ? 'revisions.rollbackDeletes' : 'revisions.rollbackRestores',
                  { name: r.name },
                )}
                okText={t('revisions.rollback')}
                cancelText={t('common.cancel')}
                onConfirm={() => rollback.mutateAsync(r.id).catch(() => undefined)}
              >
                <Button
                  size="small"
                  icon={<RollbackOutlined />}
                  loading={rollback.isPending && rollback.variables === r.id}
                  aria-label={t('revisions.rollbackThing', { id: r.id })}
                >
                  {t('revisions.rollback')}
                </Button>
              </Popconfirm>
            ),
          },
        ]}
      />
    </>
  );
}

function RevisionDiff({ revision }: { revision: Revision }) {
  const { t } = useI18n();
  const block = (title: string, v: unknown) => (
    <Col xs={24} lg={12}>
      <Typography.Text strong>{title}</Typography.Text>
      {v === null || v === undefined ? (
        <Typography.Paragraph type="secondary">{t('revisions.nothing')}</Typography.Paragraph>
      ) : (
        <pre className="gh-mono" style={{ fontSize: 12, maxHeight: 360, overflow: 'auto' }}>
          {JSON.stringify(v, null, 2)}
        </pre>
      )}
    </Col>
  );
  return (
    <Row gutter={16}>
      {block(t('revisions.before'), revision.before)}
      {block(t('revisions.after'), revision.after)}
    </Row>
  );
}
