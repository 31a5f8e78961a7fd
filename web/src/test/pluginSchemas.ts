import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JSONSchema } from '../api/types';

/**
 * pluginSchema reads the config schema a real plugin publishes, straight
 * from its Go source (the `configSchema = json.RawMessage(`…`)` literal), so
 * that the console's form and checks are tested against what the plugins
 * actually ship.
 */
export function pluginSchema(plugin: string): JSONSchema {
  const file = resolve(import.meta.dirname, '..', '..', '..', 'plugins', plugin, 'plugin.go');
  const src = readFileSync(file, 'utf8');
  const m = /configSchema = json\.RawMessage\(`([\s\S]*?)`\)/.exec(src);
  if (!m?.[1]) throw new Error(`no configSchema literal in ${file}`);
  return JSON.parse(m[1]) as JSONSchema;
}
