import { Input, Typography } from 'antd';
import { useState } from 'react';
import { useI18n } from '../i18n/context';
import { deepEqual } from '../lib/jsonSchema';

interface JsonTextProps {
  /** The value shown; undefined shows an empty editor. */
  value: unknown;
  /** Called with every edit that parses; undefined when the text is empty. */
  onChange: (value: unknown) => void;
  id?: string;
  rows?: number;
  /** Accept only JSON objects (a plugin config, tool arguments). */
  objectOnly?: boolean;
  'aria-label'?: string;
  'aria-describedby'?: string;
  disabled?: boolean;
}

function stringify(v: unknown): string {
  return v === undefined ? '' : JSON.stringify(v, null, 2);
}

function parse(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * JsonText is a raw JSON editor bound to a value: every edit that parses is
 * passed on; a parse error is shown under it and the value is left as it
 * was. When the value changes elsewhere (a form beside it), the text is
 * rewritten unless it already says the same.
 */
export function JsonText({
  value,
  onChange,
  id,
  rows = 12,
  objectOnly = false,
  disabled,
  ...aria
}: JsonTextProps) {
  const { t } = useI18n();
  const [text, setText] = useState(() => stringify(value));
  const [error, setError] = useState<string | null>(null);
  const [seen, setSeen] = useState(value);

  // Adjust the text when the value changed from outside (React's
  // "adjusting state when a prop changes" pattern, no effect needed).
  if (seen !== value) {
    setSeen(value);
    const p = parse(text);
    if (!p.ok || !deepEqual(p.value, value)) {
      setText(stringify(value));
      setError(null);
    }
  }

  const errorId = id ? `${id}-error` : undefined;
  return (
    <>
      <Input.TextArea
        id={id}
        className="gh-mono"
        value={text}
        rows={rows}
        spellCheck={false}
        disabled={disabled}
        status={error ? 'error' : undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={[aria['aria-describedby'], error ? errorId : undefined]
          .filter(Boolean)
          .join(' ')}
        aria-label={aria['aria-label']}
        onChange={(e) => {
          const next = e.target.value;
          setText(next);
          const p = parse(next);
          if (!p.ok) {
            setError(t('json.invalid', { message: p.message }));
            return;
          }
          if (
            objectOnly &&
            p.value !== undefined &&
            (typeof p.value !== 'object' || p.value === null || Array.isArray(p.value))
          ) {
            setError(t('json.notObject'));
            return;
          }
          setError(null);
          setSeen(p.value);
          onChange(p.value);
        }}
      />
      {error && (
        <Typography.Text type="danger" id={errorId} role="alert">
          {error}
        </Typography.Text>
      )}
    </>
  );
}
