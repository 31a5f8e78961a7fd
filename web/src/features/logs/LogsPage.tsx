import {
  DownloadOutlined,
  PauseOutlined,
  CaretRightOutlined,
  ReloadOutlined,
  SearchOutlined,
} from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Badge, Button, Flex, Input, Select, Space, Tooltip } from 'antd';
import { useCallback, useDeferredValue, useEffect, useMemo, useReducer, useState } from 'react';
import { queryKeys, useApi } from '../../api/context';
import type { LogEntry, LogLevel } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../lib/errors';
import { initialLiveLines, keepLast, liveLinesFor, liveReducer } from './logBuffer';
import { LogView } from './LogView';
import { useLogFollow, type FollowState } from './useLogFollow';

const lineChoices = [100, 500, 1000, 5000];
const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
const searchDelayMs = 300;

/**
 * LogsPage shows the tail of gateway.log and follows it live: level filter,
 * search with highlighting, pause/resume, download of what is shown.
 */
export default function LogsPage() {
  const { t } = useI18n();
  const api = useApi();
  const [lines, setLines] = useState(500);
  const [level, setLevel] = useState<LogLevel | ''>('');
  const [searchInput, setSearchInput] = useState('');
  const q = useDebounced(searchInput.trim(), searchDelayMs);
  const [generation, setGeneration] = useState(0);

  const tail = useQuery({
    queryKey: [...queryKeys.gatewayLogs({ lines, level, q }), generation],
    queryFn: ({ signal }) => api.gatewayLogs({ lines, level, q }, signal),
    staleTime: Infinity,
    // Coming back to the view reads the tail again: a cached one would miss
    // the lines written meanwhile, before live follow starts.
    gcTime: 0,
    refetchOnWindowFocus: false,
  });

  // Live lines belong to the tail they follow: a new filter or a reload
  // starts from a fresh tail and drops them.
  const viewKey = `${lines}|${level}|${q}|${generation}|${tail.dataUpdatedAt}`;
  const [liveState, dispatch] = useReducer(liveReducer, viewKey, initialLiveLines);
  const live = liveLinesFor(liveState, viewKey);
  const onLines = useCallback(
    (entries: LogEntry[]) => dispatch({ type: 'append', key: viewKey, entries }),
    [viewKey],
  );
  const follow = useLogFollow({ level, q }, tail.isSuccess, generation, onLines);

  const entries = useMemo(
    () => keepLast([...(tail.data?.items ?? []), ...live.live]),
    [tail.data, live.live],
  );
  const shown = useDeferredValue(entries);

  return (
    <>
      <PageHeader
        title={t('logs.title')}
        extra={<FollowBadge follow={follow} paused={live.paused} />}
      />
      <Flex gap={8} wrap style={{ marginBottom: 12 }} align="center">
        <Select
          aria-label={t('logs.lines')}
          value={lines}
          onChange={setLines}
          style={{ width: 140 }}
          options={lineChoices.map((n) => ({ value: n, label: t('logs.linesOption', { n }) }))}
        />
        <Select
          aria-label={t('logs.level')}
          value={level}
          onChange={setLevel}
          style={{ width: 190 }}
          options={[
            { value: '', label: t('logs.allLevels') },
            ...levels.map((l) => ({ value: l, label: t(`logs.levels.${l}`) })),
          ]}
        />
        <Input
          type="search"
          prefix={<SearchOutlined aria-hidden />}
          aria-label={t('logs.search')}
          placeholder={t('logs.searchPlaceholder')}
          allowClear
          value={searchInput}
          onChange={(e) => setSearchInput(e.target.value)}
          style={{ width: 260, maxWidth: '100%' }}
        />
        <Space wrap>
          {live.paused ? (
            <Button icon={<CaretRightOutlined />} onClick={() => dispatch({ type: 'resume' })}>
              {live.pending.length > 0
                ? t('logs.resumeWithCount', { count: live.pending.length })
                : t('logs.resume')}
            </Button>
          ) : (
            <Button icon={<PauseOutlined />} onClick={() => dispatch({ type: 'pause' })}>
              {t('logs.pause')}
            </Button>
          )}
          <Tooltip title={t('common.reload')}>
            <Button
              icon={<ReloadOutlined />}
              aria-label={t('common.reload')}
              onClick={() => setGeneration((g) => g + 1)}
            />
          </Tooltip>
          <Button
            icon={<DownloadOutlined />}
            disabled={shown.length === 0}
            onClick={() => downloadLines(shown)}
          >
            {t('logs.download')}
          </Button>
        </Space>
      </Flex>
      {follow.phase === 'failed' && (
        <div style={{ marginBottom: 12 }}>
          <ErrorAlert
            type="warning"
            error={follow.error}
            onRetry={() => setGeneration((g) => g + 1)}
          />
        </div>
      )}
      {tail.isPending ? (
        <Loading />
      ) : tail.isError ? (
        <ErrorAlert error={tail.error} onRetry={() => void tail.refetch()} />
      ) : (
        <LogView
          entries={shown}
          highlight={q}
          emptyText={level === '' && q === '' ? t('logs.emptyAll') : t('logs.empty')}
        />
      )}
    </>
  );
}

function FollowBadge({ follow, paused }: { follow: FollowState; paused: boolean }) {
  const { t } = useI18n();
  const reason = (err: unknown) => describeError(err, t).message;
  if (paused) return <Badge status="default" text={t('logs.paused')} />;
  switch (follow.phase) {
    case 'live':
      return <Badge status="processing" color="green" text={t('logs.live')} />;
    case 'connecting':
      return <Badge status="default" text={t('logs.connecting')} />;
    case 'reconnecting':
      return (
        <Tooltip title={follow.error ? reason(follow.error) : undefined}>
          <Badge status="warning" text={t('logs.reconnecting')} />
        </Tooltip>
      );
    case 'failed':
      return (
        <Badge status="error" text={t('logs.streamError', { message: reason(follow.error) })} />
      );
    case 'idle':
      return null;
  }
}

/** downloadLines saves the shown lines as a .log file. */
function downloadLines(entries: LogEntry[]) {
  const text = entries.map((e) => e.text).join('\n') + '\n';
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `gateway-${new Date().toISOString().replace(/[:.]/g, '-')}.log`;
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function useDebounced<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const id = window.setTimeout(() => setDebounced(value), delayMs);
    return () => window.clearTimeout(id);
  }, [value, delayMs]);
  return debounced;
}
