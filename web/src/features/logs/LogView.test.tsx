// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../api/types';
import { I18nProvider } from '../../i18n/I18nProvider';
import { levelColors } from './levels';
import { LogView } from './LogView';
import { parseLine, shortTime } from './parseLine';

afterEach(cleanup);

const warnLine =
  'time=2026-12-04T19:40:01.123Z level=WARN msg="admin request" component=admin method=GET path=/api/v1/e2e-x status=404 client=127.0.0.1';
const errorJSON =
  '{"time":"2026-12-04T19:40:02.5Z","level":"ERROR","msg":"upstream request failed","component":"gateway","service":"echo","error":"dial tcp: \\"refused\\""}';

describe('parseLine', () => {
  it('splits slog text lines into columns and keeps the other fields in order', () => {
    expect(parseLine(warnLine)).toEqual({
      time: '2026-12-04T19:40:01.123Z',
      level: 'WARN',
      component: 'admin',
      message: 'admin request',
      fields: [
        ['method', 'GET'],
        ['path', '/api/v1/e2e-x'],
        ['status', '404'],
        ['client', '127.0.0.1'],
      ],
    });
  });

  it('reads quoted values with escapes and JSON lines', () => {
    const q = parseLine('level=INFO msg="say \\"hi\\" = ok" note="a b"');
    expect(q.message).toBe('say "hi" = ok');
    expect(q.fields).toEqual([['note', 'a b']]);
    const j = parseLine(errorJSON);
    expect(j.level).toBe('ERROR');
    expect(j.component).toBe('gateway');
    expect(j.fields).toEqual([
      ['service', 'echo'],
      ['error', 'dial tcp: "refused"'],
    ]);
  });

  it('keeps a line in no known format whole, as the message', () => {
    for (const text of ['panic: something broke', 'goroutine 1 [running]:', '']) {
      expect(parseLine(text)).toEqual({
        time: '',
        level: '',
        component: '',
        message: text,
        fields: [],
      });
    }
  });

  it('shows the time of day', () => {
    expect(shortTime('2026-12-04T19:40:01.123456Z')).toBe('19:40:01.123');
    expect(shortTime('yesterday')).toBe('yesterday');
  });
});

describe('LogView', () => {
  const entries: LogEntry[] = [
    { text: warnLine, level: 'WARN' },
    { text: errorJSON, level: 'ERROR' },
    { text: 'plain text from a plugin' },
  ];
  const show = (highlight = '') =>
    render(
      <I18nProvider>
        <LogView entries={entries} highlight={highlight} emptyText="none" />
      </I18nProvider>,
    );

  it('shows time, coloured level, component and message as columns', () => {
    show();
    const rows = within(screen.getByTestId('log-lines')).getAllByText(
      (_, el) => el?.classList.contains('gh-log-row') ?? false,
    );
    expect(rows).toHaveLength(3);
    const [warn, error, plain] = rows as [HTMLElement, HTMLElement, HTMLElement];
    expect(warn.dataset.level).toBe('warn');
    expect(warn.querySelector('.gh-log-time')?.textContent).toBe('19:40:01.123');
    const level = warn.querySelector<HTMLElement>('.gh-log-level');
    expect(level?.textContent).toBe('WARN');
    expect(level?.style.color).toBe(hexToRgb(levelColors.warn ?? ''));
    expect(warn.querySelector('.gh-log-component')?.textContent).toBe('admin');
    expect(warn.querySelector('.gh-log-message')?.textContent).toContain('admin request');
    expect(error.querySelector<HTMLElement>('.gh-log-level')?.style.color).toBe(
      hexToRgb(levelColors.error ?? ''),
    );
    expect(plain.querySelector('.gh-log-message')?.textContent).toBe('plain text from a plugin');
    expect(within(plain).queryByRole('button')).toBeNull();
  });

  it('opens the other fields of a line on demand', () => {
    show();
    expect(screen.queryByTestId('log-fields')).toBeNull();
    const [toggle] = screen.getAllByRole('button', { name: 'Show all fields' }) as [HTMLElement];
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(toggle);
    const fields = screen.getByTestId('log-fields');
    expect(Array.from(fields.querySelectorAll('dt')).map((d) => d.textContent)).toEqual([
      'method',
      'path',
      'status',
      'client',
    ]);
    expect(fields.querySelectorAll('dd').item(1).textContent).toBe('/api/v1/e2e-x');
    fireEvent.click(screen.getByRole('button', { name: 'Hide the fields' }));
    expect(screen.queryByTestId('log-fields')).toBeNull();
  });

  it('marks the search in the message and in the fields', () => {
    show('e2e-x');
    const marks = screen.getAllByText('e2e-x', { selector: 'mark' });
    expect(marks.length).toBeGreaterThan(0);
    show('upstream request');
    expect(screen.getAllByText('upstream request', { selector: 'mark' })).toHaveLength(1);
  });
});

function hexToRgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}
