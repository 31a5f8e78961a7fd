import { Flex, Typography } from 'antd';
import { type ChartLine, linePath, niceMax, seriesMax } from './chart';

const box = { width: 300, height: 80 };

interface LineChartProps {
  title: string;
  lines: ChartLine[];
  /** Formats an axis value with its unit, such as "2 req/s". */
  format: (v: number) => string;
}

/**
 * LineChart is a small dependency-free SVG chart of one or more lines over
 * the same samples, with the axis top, the latest values and a legend in
 * text (the colours are never the only cue).
 */
export function LineChart({ title, lines, format }: LineChartProps) {
  const top = niceMax(seriesMax(lines));
  const latest = lines
    .map((l) => `${l.label} ${format(l.values[l.values.length - 1] ?? 0)}`)
    .join(', ');
  return (
    <figure style={{ margin: 0 }} aria-label={title}>
      <Flex justify="space-between" align="baseline" gap={8}>
        <Typography.Text strong>{title}</Typography.Text>
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {format(top)}
        </Typography.Text>
      </Flex>
      <svg
        viewBox={`0 0 ${box.width} ${box.height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${title}: ${latest}`}
        style={{ width: '100%', height: 80, display: 'block' }}
      >
        <line
          x1={0}
          y1={box.height}
          x2={box.width}
          y2={box.height}
          stroke="currentColor"
          strokeOpacity={0.2}
        />
        <line x1={0} y1={0} x2={box.width} y2={0} stroke="currentColor" strokeOpacity={0.08} />
        {lines.map((l) => (
          <path
            key={l.key}
            d={linePath(l.values, top, box)}
            fill="none"
            stroke={l.color}
            strokeWidth={1.5}
            vectorEffect="non-scaling-stroke"
          />
        ))}
      </svg>
      <figcaption>
        <Flex gap={12} wrap>
          {lines.map((l) => (
            <Typography.Text key={l.key} style={{ fontSize: 12 }}>
              <span
                aria-hidden
                style={{
                  display: 'inline-block',
                  width: 10,
                  height: 3,
                  background: l.color,
                  marginInlineEnd: 4,
                  verticalAlign: 'middle',
                }}
              />
              {l.label}: {format(l.values[l.values.length - 1] ?? 0)}
            </Typography.Text>
          ))}
        </Flex>
      </figcaption>
    </figure>
  );
}
