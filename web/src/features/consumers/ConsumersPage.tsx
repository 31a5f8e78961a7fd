import { BarChartOutlined, EditOutlined, KeyOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Space, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import { describeError } from '../../lib/errors';
import type { Consumer, ConsumersUsage } from '../../api/types';
import { ConfigListPage } from '../../components/ConfigListPage';
import { DeleteButton } from '../../components/DeleteButton';
import { useI18n } from '../../i18n/context';
import { useDebounced } from '../../lib/useDebounced';
import { ConsumerDrawer } from './ConsumerDrawer';
import { ConsumerKeys } from './ConsumerKeys';
import { ConsumerUsageDrawer } from './ConsumerUsageDrawer';
import { periodEnd } from './consumerForm';
import { NewKeyDialog } from './NewKeyDialog';
import { UsageBars } from './UsageBars';

type Editing = { mode: 'new' } | { mode: 'edit'; consumer: Consumer } | null;
interface ShownKey {
  consumer: string;
  key: string;
  expiresAt?: string | undefined;
}

/** Tags shows a list as tags, or "all" when it is empty. */
function Tags({ items, all }: { items: readonly string[]; all: string }) {
  return items.length === 0 ? (
    <Typography.Text type="secondary">{all}</Typography.Text>
  ) : (
    <Space size={4} wrap>
      {items.map((i) => (
        <Tag key={i}>{i}</Tag>
      ))}
    </Space>
  );
}

/**
 * Allowances states a consumer's quota and budget as configured, when its
 * usage cannot be read (`unavailable` says so).
 */
function Allowances({
  consumer: c,
  now,
  unavailable,
}: {
  consumer: Consumer;
  now: Date;
  unavailable: boolean;
}) {
  const { t } = useI18n();
  return (
    <Space orientation="vertical" size={0}>
      {c.quota && (
        <span>
          {t('ai.consumers.quotaShown', {
            tokens: c.quota.tokens.toLocaleString(),
            period: t(`ai.consumers.periods.${c.quota.period}`),
          })}
        </span>
      )}
      {c.budget && (
        <span>
          {t('ai.consumers.budgetShown', {
            usd: c.budget.usd.toFixed(2),
            period: t(`ai.consumers.periods.${c.budget.period}`),
          })}
        </span>
      )}
      {(c.quota ?? c.budget) && (
        <Typography.Text type="secondary">
          {t('ai.consumers.resetsAt', {
            date: periodEnd((c.budget ?? c.quota)?.period ?? 'month', now).toLocaleString(),
          })}
        </Typography.Text>
      )}
      {!c.quota && !c.budget && (
        <Typography.Text type="secondary">{t('ai.consumers.unlimited')}</Typography.Text>
      )}
      {unavailable && (
        <Typography.Text type="secondary" italic>
          {t('ai.consumers.usageUnavailable')}
        </Typography.Text>
      )}
    </Space>
  );
}

/**
 * ConsumersPage lists who calls the AI routes: labels, what they may use,
 * their keys, and their usage of the period against budget and quota, with
 * a usage drawer per consumer (per model, top-up, reset). Keys are shown
 * once, when created.
 */
export default function ConsumersPage() {
  const { t } = useI18n();
  const api = useApi();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const [editing, setEditing] = useState<Editing>(null);
  const [shown, setShown] = useState<ShownKey | null>(null);
  const [usageFor, setUsageFor] = useState<Consumer | null>(null);
  const consumers = useQuery({
    queryKey: [...queryKeys.consumers, 'list', q],
    queryFn: ({ signal }) => api.consumers.list(q, signal),
    placeholderData: (prev) => prev,
  });
  const usage = useQuery({
    queryKey: [...queryKeys.consumersUsage, 'all'],
    queryFn: ({ signal }) => api.consumersUsage(undefined, signal),
    refetchInterval: 15_000,
  });
  const usageOf = (name: string): ConsumersUsage['items'][number] | undefined =>
    usage.data?.items.find((u) => u.consumer === name);
  const now = new Date();
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.consumers });
  const addKey = async (c: Consumer) => {
    try {
      const k = await api.addConsumerKey(c.name);
      setShown({ consumer: c.name, key: k.key, expiresAt: k.expiresAt });
      await refresh();
    } catch (err) {
      void message.error(describeError(err, t).message, 8);
    }
  };
  const revoke = async (c: Consumer, id: string) => {
    try {
      await api.revokeConsumerKey(c.name, id);
      void message.success(t('ai.consumers.revoked', { name: c.name }));
      await refresh();
    } catch (err) {
      void message.error(describeError(err, t).message, 8);
    }
  };

  return (
    <>
      <ConfigListPage<Consumer>
        title={t('ai.consumers.title')}
        intro={t('ai.consumers.intro')}
        newLabel={t('ai.consumers.new')}
        onNew={() => setEditing({ mode: 'new' })}
        search={search}
        onSearch={setSearch}
        query={q}
        emptyText={t('ai.consumers.empty')}
        list={consumers}
        columns={[
          {
            title: t('ai.consumers.name'),
            dataIndex: 'name',
            render: (name: string, c) => (
              <Space orientation="vertical" size={0}>
                <Button
                  type="link"
                  style={{ padding: 0 }}
                  onClick={() => setEditing({ mode: 'edit', consumer: c })}
                >
                  {name}
                </Button>
                <Space size={4} wrap>
                  {Object.entries(c.labels ?? {}).map(([k, v]) => (
                    <Tag key={k} color="blue">
                      {k}={v}
                    </Tag>
                  ))}
                </Space>
              </Space>
            ),
          },
          {
            title: t('ai.consumers.allowedModels'),
            key: 'models',
            render: (_, c) => <Tags items={c.allowedModels} all={t('ai.consumers.all')} />,
          },
          {
            title: t('ai.consumers.allowedAiRoutes'),
            key: 'routes',
            render: (_, c) => <Tags items={c.allowedAiRoutes} all={t('ai.consumers.all')} />,
          },
          {
            title: t('ai.consumers.keys'),
            key: 'keys',
            render: (_, c) => (
              <ConsumerKeys consumer={c} now={now.getTime()} onRevoke={(id) => revoke(c, id)} />
            ),
          },
          {
            title: t('ai.consumers.usage'),
            key: 'usage',
            render: (_, c) => {
              const u = usageOf(c.name);
              return u ? (
                <UsageBars usage={u} />
              ) : (
                <Allowances consumer={c} now={now} unavailable={usage.isError} />
              );
            },
          },
          {
            title: t('config.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_, c) => (
              <Space>
                <Tooltip title={t('ai.consumers.usageThing', { name: c.name })}>
                  <Button
                    size="small"
                    icon={<BarChartOutlined />}
                    aria-label={t('ai.consumers.usageThing', { name: c.name })}
                    onClick={() => setUsageFor(c)}
                  />
                </Tooltip>
                <Button
                  size="small"
                  icon={<KeyOutlined />}
                  aria-label={t('ai.consumers.addKeyThing', { name: c.name })}
                  onClick={() => void addKey(c)}
                >
                  {t('ai.consumers.addKey')}
                </Button>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('config.editThing', { name: c.name })}
                  onClick={() => setEditing({ mode: 'edit', consumer: c })}
                />
                <DeleteButton
                  text
                  label={t('config.deleteThing', { name: c.name })}
                  question={t('ai.consumers.deleteQuestion', { name: c.name })}
                  done={t('ai.consumers.deleted', { name: c.name })}
                  onDelete={async () => {
                    await api.consumers.remove(c.name, c.version);
                    await refresh();
                  }}
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <ConsumerDrawer
          consumer={editing.mode === 'edit' ? editing.consumer : undefined}
          onClose={() => setEditing(null)}
          onKey={(consumer, key, expiresAt) => setShown({ consumer, key, expiresAt })}
        />
      )}
      {usageFor && <ConsumerUsageDrawer consumer={usageFor} onClose={() => setUsageFor(null)} />}
      {shown && (
        <NewKeyDialog
          consumer={shown.consumer}
          apiKey={shown.key}
          expiresAt={shown.expiresAt}
          onClose={() => setShown(null)}
        />
      )}
    </>
  );
}
