import { EditOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Space, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { ModelPrice } from '../../api/types';
import { ConfigListPage } from '../../components/ConfigListPage';
import { DeleteButton } from '../../components/DeleteButton';
import { useI18n } from '../../i18n/context';
import { useDebounced } from '../../lib/useDebounced';
import { PriceDrawer } from './PriceDrawer';
import { formatUsd } from './priceForm';

type Editing = { mode: 'new' } | { mode: 'edit'; price: ModelPrice } | null;

/** ModelPricesPage lists what each model costs per million tokens, to edit and add. */
export default function ModelPricesPage() {
  const { t } = useI18n();
  const api = useApi();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const prices = useQuery({
    queryKey: [...queryKeys.modelPrices, 'list', q],
    queryFn: ({ signal }) => api.modelPrices.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const money = (key: 'input' | 'output' | 'cachedInput', title: string) => ({
    title,
    key,
    align: 'right' as const,
    render: (_: unknown, p: ModelPrice) => formatUsd(p[key]),
  });
  return (
    <>
      <ConfigListPage<ModelPrice>
        title={t('ai.prices.title')}
        intro={t('ai.prices.intro')}
        newLabel={t('ai.prices.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('ai.prices.empty')}
        list={prices}
        columns={[
          {
            title: t('ai.prices.model'),
            key: 'model',
            render: (_, p) => (
              <Button
                type="link"
                className="gh-mono"
                style={{ padding: 0 }}
                onClick={() => setEditing({ mode: 'edit', price: p })}
              >
                {p.model}
              </Button>
            ),
          },
          money('input', t('ai.prices.input')),
          money('output', t('ai.prices.output')),
          money('cachedInput', t('ai.prices.cachedInput')),
          {
            title: t('ai.prices.source'),
            key: 'source',
            render: (_, p) =>
              p.source ? (
                <Typography.Text ellipsis style={{ maxWidth: 260 }}>
                  {p.source}
                </Typography.Text>
              ) : (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ),
          },
          { title: t('ai.prices.date'), dataIndex: 'date' },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, p) => (
              <Space>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('config.editThing', { name: p.name })}
                  onClick={() => setEditing({ mode: 'edit', price: p })}
                />
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: p.name })}
                  question={t('ai.prices.deleteQuestion', { name: p.model })}
                  done={t('ai.prices.deleted', { name: p.model })}
                  onDelete={async () => {
                    await api.modelPrices.remove(p.name, p.version);
                    await queryClient.invalidateQueries({ queryKey: queryKeys.modelPrices });
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <PriceDrawer
          price={editing.mode === 'edit' ? editing.price : undefined}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
