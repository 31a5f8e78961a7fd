import { PlusOutlined } from '@ant-design/icons';
import type { UseQueryResult } from '@tanstack/react-query';
import { Button, Empty, Flex, Input, Table, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import type { ReactNode } from 'react';
import { useI18n } from '../i18n/context';
import { ErrorAlert } from './ErrorAlert';
import { PageHeader } from './PageHeader';

interface ConfigListPageProps<T extends { name: string }> {
  title: string;
  intro: string;
  newLabel: string;
  onNew: () => void;
  /** search is the text in the search box; query the debounced text the list was asked for. */
  search: string;
  onSearch: (value: string) => void;
  query: string;
  emptyText: string;
  /** toolbar sits beside the search box (for example the gateway address). */
  toolbar?: ReactNode;
  list: UseQueryResult<{ items: T[] }>;
  columns: ColumnsType<T>;
}

/**
 * ConfigListPage is the page of one kind of configuration object: header with
 * a "new" button, intro, search, error, and a table of the objects by name.
 */
export function ConfigListPage<T extends { name: string }>(p: ConfigListPageProps<T>) {
  const { t } = useI18n();
  return (
    <>
      <PageHeader
        title={p.title}
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={p.onNew}>
            {p.newLabel}
          </Button>
        }
      />
      <Typography.Paragraph type="secondary">{p.intro}</Typography.Paragraph>
      <Flex gap={16} style={{ marginBottom: 12 }} wrap align="center" justify="space-between">
        <Input.Search
          allowClear
          aria-label={t('config.search')}
          placeholder={t('config.searchByName')}
          value={p.search}
          onChange={(e) => p.onSearch(e.target.value)}
          style={{ maxWidth: 320 }}
        />
        {p.toolbar}
      </Flex>
      {p.list.isError && (
        <div style={{ marginBottom: 12 }}>
          <ErrorAlert error={p.list.error} onRetry={() => void p.list.refetch()} />
        </div>
      )}
      <Table<T>
        rowKey="name"
        size="middle"
        loading={p.list.isPending}
        dataSource={p.list.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 'max-content' }}
        locale={{
          emptyText: (
            <Empty
              description={p.query ? t('config.noMatch', { q: p.query }) : p.emptyText}
              image={Empty.PRESENTED_IMAGE_SIMPLE}
            />
          ),
        }}
        columns={p.columns}
      />
    </>
  );
}
