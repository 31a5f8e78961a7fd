/** A piece of a log line, marked when it matches the search. */
export interface TextPart {
  text: string;
  match: boolean;
}

/**
 * highlightParts splits text around every case-insensitive occurrence of
 * query, so that matches can be marked. An empty query gives the text whole.
 */
export function highlightParts(text: string, query: string): TextPart[] {
  if (query === '') return [{ text, match: false }];
  const hay = text.toLowerCase();
  const needle = query.toLowerCase();
  const parts: TextPart[] = [];
  let from = 0;
  for (;;) {
    const at = hay.indexOf(needle, from);
    if (at === -1) break;
    if (at > from) parts.push({ text: text.slice(from, at), match: false });
    parts.push({ text: text.slice(at, at + needle.length), match: true });
    from = at + needle.length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), match: false });
  return parts.length > 0 ? parts : [{ text, match: false }];
}
