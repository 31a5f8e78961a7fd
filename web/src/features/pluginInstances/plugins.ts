import type { PluginInstance, Plugin } from '../../api/types';

/**
 * The plugin that serves MCP servers. It is configured through MCP server
 * objects, never attached as an instance.
 */
export const mcpServerPlugin = 'mcp-server';

/** attachablePlugins lists the plugins an instance can use, in name order. */
export function attachablePlugins(plugins: readonly Plugin[]): Plugin[] {
  return plugins
    .filter((p) => p.name !== mcpServerPlugin)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** instancesAt lists the instances attached at exactly this scope. */
export function instancesAt(
  instances: readonly PluginInstance[],
  type: PluginInstance['scope']['type'],
  value?: string,
): PluginInstance[] {
  return instances.filter(
    (i) => i.scope.type === type && (type === 'global' || i.scope.value === value),
  );
}
