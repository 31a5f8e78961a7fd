import {
  ApiOutlined,
  AppstoreOutlined,
  BranchesOutlined,
  ClusterOutlined,
  DashboardOutlined,
  DatabaseOutlined,
  FileTextOutlined,
  HistoryOutlined,
  NodeIndexOutlined,
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
];

/** sectionFor finds the section a console path belongs to. */
export function sectionFor(pathname: string): Section | undefined {
  const first = pathname.replace(/^\/+/, '').split('/')[0] ?? '';
  return sections.find((s) => s.path === first);
}
