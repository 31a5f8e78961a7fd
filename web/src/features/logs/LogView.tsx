import { ArrowDownOutlined, DownOutlined, RightOutlined } from '@ant-design/icons';
import { Button, Empty, theme } from 'antd';
import { memo, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { LogEntry } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { highlightParts } from './highlight';
import { levelColors, normalizeLevel } from './levels';
import { parseLine, shortTime } from './parseLine';

/** How close to the bottom (px) still counts as "at the bottom". */
const bottomSlack = 24;

interface LogViewProps {
  entries: LogEntry[];
  /** Text to mark in every line. */
  highlight: string;
  emptyText: string;
}

/**
 * LogView shows log lines as columns in a scrollable, keyboard-focusable
 * pane (search and download work on the raw lines). It stays
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

const rowColors: Record<string, { color?: string; background?: string }> = {
  error: { background: '#fff1f0' },
  warn: { background: '#fffbe6' },
  debug: { color: '#8c8c8c' },
};

function Marked({ text, highlight }: { text: string; highlight: string }) {
  return (
    <>
      {highlightParts(text, highlight).map((p, i) =>
        p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>,
      )}
    </>
  );
}

/**
 * LogLine shows one line as columns: time, level (coloured), component and
 * message, followed by the other fields on one line; the fields open one
 * per row on demand. A line that is not slog's format shows as it is.
 */
const LogLine = memo(function LogLine({
  entry,
  highlight,
}: {
  entry: LogEntry;
  highlight: string;
}) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const line = useMemo(() => parseLine(entry.text), [entry.text]);
  const level = normalizeLevel(entry.level || line.level);
  const rest = line.fields.map(([k, v]) => `${k}=${v}`).join(' ');
  return (
    <div data-level={level} className="gh-log-row" style={rowColors[level]}>
      <div className="gh-log-cols">
        <span className="gh-log-time" title={line.time}>
          {shortTime(line.time)}
        </span>
        <span className="gh-log-level" style={{ color: levelColors[level] }}>
          {line.level.toUpperCase()}
        </span>
        <span className="gh-log-component">{line.component}</span>
        <span className="gh-log-message">
          <Marked text={line.message} highlight={highlight} />
          {rest !== '' && (
            <span className="gh-log-rest">
              {' '}
              <Marked text={rest} highlight={highlight} />
            </span>
          )}
        </span>
        {line.fields.length > 0 ? (
          <Button
            type="text"
            size="small"
            aria-expanded={open}
            aria-label={open ? t('logs.hideFields') : t('logs.showFields')}
            icon={open ? <DownOutlined /> : <RightOutlined />}
            onClick={() => setOpen((o) => !o)}
          />
        ) : (
          <span />
        )}
      </div>
      {open && (
        <dl className="gh-log-fields" data-testid="log-fields">
          {line.fields.map(([k, v], i) => (
            <div key={i}>
              <dt>{k}</dt>
              <dd>
                <Marked text={v} highlight={highlight} />
              </dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
});
