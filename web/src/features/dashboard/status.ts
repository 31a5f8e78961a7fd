import type { ComponentStatus } from '../../api/types';

/** How a health status looks: an antd status colour, never colour alone (the text says it too). */
export const statusTone: Record<ComponentStatus, 'success' | 'warning' | 'error' | 'default'> = {
  ok: 'success',
  degraded: 'warning',
  down: 'error',
  not_configured: 'default',
};
