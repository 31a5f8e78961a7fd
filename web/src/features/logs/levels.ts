/** normalizeLevel maps slog's and others' level names onto debug/info/warn/error. */
export function normalizeLevel(level: string): string {
  const l = level.toLowerCase();
  if (l.startsWith('err') || l === 'fatal' || l === 'panic') return 'error';
  if (l.startsWith('warn')) return 'warn';
  if (l.startsWith('debug') || l === 'trace') return 'debug';
  return l === '' ? '' : 'info';
}

/** The level column's colours. */
export const levelColors: Record<string, string> = {
  error: '#cf1322',
  warn: '#d46b08',
  info: '#0958d9',
  debug: '#8c8c8c',
};
