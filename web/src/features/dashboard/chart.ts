import type { MetricPoint } from '../../api/types';

/** A line of a chart: its name, colour and one value per sample. */
export interface ChartLine {
  key: string;
  label: string;
  color: string;
  values: number[];
}

/** The drawing area of a chart, in SVG user units. */
export interface ChartBox {
  width: number;
  height: number;
}

/**
 * niceMax rounds the top of a chart's axis up to 1, 2 or 5 times a power of
 * ten, so that the axis label is readable; a chart of zeros gets 1.
 */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    const top = step * power;
    // Float noise (0.1 * 3) must not push a value just over its step.
    if (max <= top * (1 + 1e-9)) return top;
  }
  return 10 * power;
}

/**
 * linePath turns values into an SVG path across the box: the first value at
 * the left edge, the last at the right, 0 at the bottom and `top` at the top.
 * Values above `top` are clipped to it, values that are not finite or below
 * 0 drawn as 0. One value is drawn as a flat line across the box.
 */
export function linePath(values: number[], top: number, box: ChartBox): string {
  if (values.length === 0) return '';
  const y = (v: number) => {
    const clean = Number.isFinite(v) && v > 0 ? Math.min(v, top) : 0;
    return round(box.height - (clean / (top > 0 ? top : 1)) * box.height);
  };
  if (values.length === 1) {
    const v = y(values[0] ?? 0);
    return `M0 ${v} L${round(box.width)} ${v}`;
  }
  const dx = box.width / (values.length - 1);
  return values.map((v, i) => `${i === 0 ? 'M' : 'L'}${round(i * dx)} ${y(v)}`).join(' ');
}

/** seriesMax is the largest finite value of all lines, 0 when there is none. */
export function seriesMax(lines: ChartLine[]): number {
  let max = 0;
  for (const l of lines) {
    for (const v of l.values) {
      if (Number.isFinite(v) && v > max) max = v;
    }
  }
  return max;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

const palette = ['#1677ff', '#52c41a', '#fa8c16', '#eb2f96', '#722ed1', '#13c2c2', '#a0d911'];

/** toolCallLines gives every MCP server seen in the samples its own line. */
export function toolCallLines(items: MetricPoint[]): ChartLine[] {
  const names = new Set<string>();
  for (const p of items) for (const n of Object.keys(p.toolCallRate ?? {})) names.add(n);
  return [...names].sort().map((name, i) => ({
    key: name,
    label: name,
    color: palette[i % palette.length] ?? '#1677ff',
    values: items.map((p) => p.toolCallRate?.[name] ?? 0),
  }));
}
