/** normalizeLevel maps slog's and others' level names onto debug/info/warn/error. */
export function normalizeLevel(level: string): string {
  const l = level.toLowerCase();
  if (l.startsWith('err') || l === 'fatal' || l === 'panic') return 'error';
  if (l.startsWith('warn')) return 'warn';
  if (l.startsWith('debug') || l === 'trace') return 'debug';
  return l === '' ? '' : 'info';
}
