// The YAML library is loaded on demand: only the MCP views that show or
// parse YAML need it, and it stays out of the console's first load.

/** The outcome of parsing a YAML document. */
export type ParsedYAML =
  { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/** toYAML writes a value as YAML with block strings for multi-line text. */
export async function toYAML(value: unknown): Promise<string> {
  const YAML = await import('yaml');
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * parseYAMLObject reads a YAML (or JSON) document that must be a mapping;
 * errors name the line and column.
 */
export async function parseYAMLObject(text: string): Promise<ParsedYAML> {
  const YAML = await import('yaml');
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) return { ok: false, message: first.message };
  const value: unknown = doc.toJS();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'not-a-mapping' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}
