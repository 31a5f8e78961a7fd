import {
  ApiOutlined,
  BarChartOutlined,
  CloudServerOutlined,
  MessageOutlined,
  AppstoreOutlined,
  BranchesOutlined,
  ClusterOutlined,
  DashboardOutlined,
  DatabaseOutlined,
  DollarOutlined,
  FileTextOutlined,
  HistoryOutlined,
  NodeIndexOutlined,
  TeamOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { lazy, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';
import type { MessageKey } from '../i18n/context';

/** A view of the console: one navigation item and one route. */
export interface Section {
  /** Path under the console root, "" for the dashboard. */
  path: string;
  label: MessageKey;
  icon: ReactNode;
  Page: LazyExoticComponent<ComponentType>;
  /** The heading the item is listed under in the navigation, if any. */
  group?: MessageKey;
}

/** A page below a section, such as one MCP server; it highlights its section. */
export interface SubPage {
  /** Route path under the console root, with parameters. */
  path: string;
  Page: LazyExoticComponent<ComponentType>;
}

// The console's views, in navigation order. Each view is its own lazy chunk
// so the first load stays small.
export const sections: readonly Section[] = [
  {
    path: '',
    label: 'nav.dashboard',
    icon: <DashboardOutlined />,
    Page: lazy(() => import('../features/dashboard/DashboardPage')),
  },
  {
    path: 'routes',
    label: 'nav.routes',
    icon: <BranchesOutlined />,
    Page: lazy(() => import('../features/routes/RoutesPage')),
  },
  {
    path: 'services',
    label: 'nav.services',
    icon: <ClusterOutlined />,
    Page: lazy(() => import('../features/services/ServicesPage')),
  },
  {
    path: 'mcp-servers',
    label: 'nav.mcpServers',
    icon: <ApiOutlined />,
    Page: lazy(() => import('../features/mcp/McpServersPage')),
  },
  {
    path: 'llm-providers',
    label: 'nav.llmProviders',
    icon: <CloudServerOutlined />,
    group: 'nav.ai',
    Page: lazy(() => import('../features/ai/LlmProvidersPage')),
  },
  {
    path: 'ai-routes',
    label: 'nav.aiRoutes',
    icon: <MessageOutlined />,
    group: 'nav.ai',
    Page: lazy(() => import('../features/ai/AiRoutesPage')),
  },
  {
    path: 'ai-usage',
    label: 'nav.aiUsage',
    icon: <BarChartOutlined />,
    group: 'nav.ai',
    Page: lazy(() => import('../features/ai/AiUsagePage')),
  },
  {
    path: 'consumers',
    label: 'nav.consumers',
    icon: <TeamOutlined />,
    group: 'nav.ai',
    Page: lazy(() => import('../features/consumers/ConsumersPage')),
  },
  {
    path: 'model-prices',
    label: 'nav.modelPrices',
    icon: <DollarOutlined />,
    group: 'nav.ai',
    Page: lazy(() => import('../features/consumers/ModelPricesPage')),
  },
  {
    path: 'plugin-instances',
    label: 'nav.pluginInstances',
    icon: <NodeIndexOutlined />,
    Page: lazy(() => import('../features/pluginInstances/PluginInstancesPage')),
  },
  {
    path: 'plugins',
    label: 'nav.plugins',
    icon: <AppstoreOutlined />,
    Page: lazy(() => import('../features/plugins/PluginsPage')),
  },
  {
    path: 'redis',
    label: 'nav.redis',
    icon: <DatabaseOutlined />,
    Page: lazy(() => import('../features/redis/RedisPage')),
  },
  {
    path: 'logs',
    label: 'nav.logs',
    icon: <FileTextOutlined />,
    Page: lazy(() => import('../features/logs/LogsPage')),
  },
  {
    path: 'history',
    label: 'nav.history',
    icon: <HistoryOutlined />,
    Page: lazy(() => import('../features/revisions/RevisionsPage')),
  },
  {
    path: 'account',
    label: 'nav.account',
    icon: <UserOutlined />,
    Page: lazy(() => import('../features/account/AccountPage')),
  },
];

/** Pages below the sections. */
export const subPages: readonly SubPage[] = [
  {
    path: 'mcp-servers/:name',
    Page: lazy(() => import('../features/mcp/McpServerPage')),
  },
  {
    path: 'ai-routes/:name',
    Page: lazy(() => import('../features/ai/AiRoutePage')),
  },
];

/** sectionFor finds the section a console path belongs to. */
export function sectionFor(pathname: string): Section | undefined {
  const first = pathname.replace(/^\/+/, '').split('/')[0] ?? '';
  return sections.find((s) => s.path === first);
}

/** A navigation entry: a section, or a heading over consecutive sections of one group. */
export type NavEntry =
  { kind: 'section'; section: Section } | { kind: 'group'; label: MessageKey; sections: Section[] };

/** navEntries puts consecutive sections of the same group under one heading. */
export function navEntries(list: readonly Section[]): NavEntry[] {
  const out: NavEntry[] = [];
  for (const s of list) {
    const last = out[out.length - 1];
    if (s.group === undefined) out.push({ kind: 'section', section: s });
    else if (last?.kind === 'group' && last.label === s.group) last.sections.push(s);
    else out.push({ kind: 'group', label: s.group, sections: [s] });
  }
  return out;
}
