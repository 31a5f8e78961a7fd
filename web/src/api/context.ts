import { createContext, useContext } from 'react';
import type { ApiClient } from './client';
import type { LogQuery } from './types';

export const ApiContext = createContext<ApiClient | null>(null);

/** useApi returns the console's API client. */
export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi must be used inside <ApiContext.Provider>');
  return api;
}

/** TanStack Query keys of the admin API resources. */
export const queryKeys = {
  authStatus: ['auth', 'status'] as const,
  me: ['auth', 'me'] as const,
  health: ['health'] as const,
  plugins: ['plugins'] as const,
  gatewayLogs: (q: LogQuery) => ['logs', 'gateway', q] as const,
  services: ['services'] as const,
  routes: ['routes'] as const,
  pluginInstances: ['plugin-instances'] as const,
  mcpServers: ['mcp-servers'] as const,
  mcpServer: (name: string) => ['mcp-servers', 'one', name] as const,
  mcpTools: (name: string) => ['mcp-servers', 'tools', name] as const,
  redisSettings: ['settings', 'redis'] as const,
  revisions: ['revisions'] as const,
  tokens: ['tokens'] as const,
  metricSeries: ['metrics', 'series'] as const,
  mcpStatus: (name: string) => ['mcp-servers', 'status', name] as const,
  llmProviders: ['llm-providers'] as const,
  aiRoutes: ['ai-routes'] as const,
  consumers: ['consumers'] as const,
  /** Usage of consumers: every one ('all') or one by name; under `consumers` so key changes refresh it. */
  consumersUsage: ['consumers', 'usage'] as const,
  consumerUsage: (name: string, period: string) =>
    ['consumers', 'usage', 'one', name, period] as const,
  modelPrices: ['model-prices'] as const,
  aiUsage: (window: string) => ['ai', 'usage', window] as const,
};
