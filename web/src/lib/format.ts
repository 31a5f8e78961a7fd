import type { Translate } from '../i18n/context';

type Unit = 'd' | 'h' | 'm' | 's';

/**
 * durationParts splits seconds into at most the two largest non-zero units
 * (days and hours, hours and minutes, …): "3d 4h" is what people read at a
 * glance; the exact start time is shown beside it.
 */
export function durationParts(totalSeconds: number): { unit: Unit; n: number }[] {
  const s = Math.max(0, Math.floor(totalSeconds));
  const all: { unit: Unit; n: number }[] = [
    { unit: 'd', n: Math.floor(s / 86400) },
    { unit: 'h', n: Math.floor((s % 86400) / 3600) },
    { unit: 'm', n: Math.floor((s % 3600) / 60) },
    { unit: 's', n: s % 60 },
  ];
  const first = all.findIndex((p) => p.n > 0);
  if (first === -1) return [{ unit: 's', n: 0 }];
  return all.slice(first, first + 2).filter((p) => p.n > 0);
}

/** formatDuration renders seconds such as "3d 4h" in the current language. */
export function formatDuration(totalSeconds: number, t: Translate): string {
  return durationParts(totalSeconds)
    .map((p) => t(`duration.${p.unit}`, { n: p.n }))
    .join(' ');
}
