import { ArrowDownOutlined } from '@ant-design/icons';
import { Button, Empty, theme } from 'antd';
import { memo, useLayoutEffect, useRef, useState } from 'react';
import type { LogEntry } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { highlightParts } from './highlight';
import { normalizeLevel } from './levels';

/** How close to the bottom (px) still counts as "at the bottom". */
const bottomSlack = 24;

interface LogViewProps {
  entries: LogEntry[];
  /** Text to mark in every line. */
  highlight: string;
  emptyText: string;
}

/**
 * LogView shows log lines in a scrollable, keyboard-focusable pane. It stays
 * pinned to the newest line until the user scrolls up, then offers a button
 * to jump back down (which pins it again).
 */
export function LogView({ entries, highlight, emptyText }: LogViewProps) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const pane = useRef<HTMLDivElement>(null);
  const [pinned, setPinned] = useState(true);

  useLayoutEffect(() => {
    const el = pane.current;
    if (el && pinned) el.scrollTop = el.scrollHeight;
  }, [entries, pinned]);

  const onScroll = () => {
    const el = pane.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= bottomSlack;
    if (atBottom !== pinned) setPinned(atBottom);
  };

  return (
    <div style={{ position: 'relative' }}>
      <div
        ref={pane}
        onScroll={onScroll}
        role="log"
        aria-live="off"
        aria-label={t('logs.region')}
        tabIndex={0}
        className="gh-log gh-mono"
        data-testid="log-lines"
        style={{
          height: 'calc(100vh - 260px)',
          minHeight: 320,
          overflow: 'auto',
          background: token.colorBgContainer,
          border: `1px solid ${token.colorBorderSecondary}`,
          borderRadius: token.borderRadius,
          padding: '8px 0',
        }}
      >
        {entries.length === 0 ? (
          <Empty description={emptyText} style={{ marginTop: 64 }} />
        ) : (
          entries.map((e, i) => <LogLine key={i} entry={e} highlight={highlight} />)
        )}
      </div>
      {!pinned && entries.length > 0 && (
        <Button
          type="primary"
          shape="round"
          icon={<ArrowDownOutlined />}
          style={{ position: 'absolute', right: 24, bottom: 16 }}
          onClick={() => setPinned(true)}
        >
          {t('logs.jumpToLatest')}
        </Button>
      )}
    </div>
  );
}

const levelColors: Record<string, { color?: string; background?: string }> = {
  error: { color: '#a8071a', background: '#fff1f0' },
  warn: { color: '#ad4e00', background: '#fffbe6' },
  debug: { color: '#8c8c8c' },
};

const LogLine = memo(function LogLine({
  entry,
  highlight,
}: {
  entry: LogEntry;
  highlight: string;
}) {
  const level = normalizeLevel(entry.level ?? '');
  return (
    <div
      data-level={level}
      style={{
        padding: '0 12px',
        whiteSpace: 'pre-wrap',
        wordBreak: 'break-all',
        ...levelColors[level],
      }}
    >
      {highlightParts(entry.text, highlight).map((p, i) =>
        p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>,
      )}
    </div>
  );
});
