import { Tag } from 'antd';
import type { PluginInstance } from '../../api/types';
import { useI18n } from '../../i18n/context';

/** ScopeTag shows where an instance is attached. */
export function ScopeTag({ scope }: { scope: PluginInstance['scope'] }) {
  const { t } = useI18n();
  const color = {
    global: 'purple',
    domain: 'blue',
    route: 'green',
    'mcp-server': 'gold',
    'ai-route': 'cyan',
  }[scope.type];
  return (
    <Tag color={color}>
      {t(`instances.scopes.${scope.type}`)}
      {scope.value ? `: ${scope.value}` : ''}
    </Tag>
  );
}
