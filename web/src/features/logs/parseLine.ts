/** One log line split into the columns the Logs view shows. */
export interface ParsedLine {
  time: string;
  level: string;
  component: string;
  message: string;
  /** Every other field, in the order of the line. */
  fields: [string, string][];
}

/**
 * parseLine splits a gateway.log line, in slog's text format
 * (`time=… level=INFO msg="…" component=app key=value`) or JSON format, into
 * columns. A line in neither format is all message, so nothing is lost.
 */
export function parseLine(text: string): ParsedLine {
  const pairs = text.trimStart().startsWith('{') ? jsonPairs(text) : textPairs(text);
  if (pairs === null || !pairs.some(([k]) => k === 'msg' || k === 'level')) {
    return { time: '', level: '', component: '', message: text, fields: [] };
  }
  const out: ParsedLine = { time: '', level: '', component: '', message: '', fields: [] };
  for (const [k, v] of pairs) {
    if (k === 'time' && out.time === '') out.time = v;
    else if (k === 'level' && out.level === '') out.level = v;
    else if (k === 'msg' && out.message === '') out.message = v;
    else if (k === 'component' && out.component === '') out.component = v;
    else out.fields.push([k, v]);
  }
  return out;
}

/** textPairs reads logfmt as slog's TextHandler writes it; null when it is not. */
function textPairs(text: string): [string, string][] | null {
  const pairs: [string, string][] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq <= i) return null;
    const key = text.slice(i, eq);
    if (/\s|"/.test(key)) return null;
    i = eq + 1;
    let value: string;
    if (text[i] === '"') {
      // A Go-quoted string: escapes as strconv.Quote writes them.
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= n) return null;
      value = unquote(text.slice(i, j + 1));
      i = j + 1;
    } else {
      const sp = text.indexOf(' ', i);
      const end = sp === -1 ? n : sp;
      value = text.slice(i, end);
      i = end;
    }
    pairs.push([key, value]);
  }
  return pairs;
}

function unquote(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

function jsonPairs(text: string): [string, string][] | null {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return null;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const pairs: [string, string][] = [];
  const walk = (prefix: string, o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix + k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        walk(key + '.', v as Record<string, unknown>);
      } else {
        pairs.push([key, typeof v === 'string' ? v : JSON.stringify(v)]);
      }
    }
  };
  walk('', obj as Record<string, unknown>);
  return pairs;
}

/** shortTime shows an RFC 3339 time as HH:MM:SS.mmm, or the text as it is. */
export function shortTime(time: string): string {
  const m = /T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(time);
  return m?.[1] ?? time;
}
