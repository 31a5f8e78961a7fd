import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, Form, Input, InputNumber, Select, Switch } from 'antd';
import type { ReactNode } from 'react';
import type { ApiErrorDetail, JSONSchema } from '../api/types';
import { useI18n } from '../i18n/context';
import { formatFieldPath, placeFieldErrors, type NamePath } from '../lib/fieldPath';
import { fieldPaths, getAt, isObject, schemaType, setAt } from '../lib/jsonSchema';
import { JsonText } from './JsonText';

/** Props of SchemaForm. */
export interface SchemaFormProps {
  schema: JSONSchema;
  /** The edited object. */
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  /**
   * Problems to show, with paths relative to the value ("consumers[0].key"):
   * the client's own checks and the server's details. Those without a
   * field of their own are listed above the form.
   */
  problems?: readonly ApiErrorDetail[];
  /** Makes the ids of the inputs unique on the page. */
  idPrefix: string;
  disabled?: boolean;
}

interface FieldContext {
  root: Record<string, unknown>;
  set: (path: NamePath, value: unknown) => void;
  problems: Map<string, string[]>;
  idPrefix: string;
  disabled: boolean | undefined;
}

function inputId(prefix: string, path: NamePath): string {
  return `${prefix}-${formatFieldPath(path).replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * SchemaForm is a form generated from a JSON Schema: text, number and
 * switch inputs, selects for enums, tag inputs for lists of values, cards
 * for lists of objects, nested sections for objects, and a small JSON box
 * for anything the schema leaves open. Descriptions show under the fields,
 * defaults as placeholders; empty inputs leave their property out, so the
 * plugin's defaults apply.
 */
export function SchemaForm({
  schema,
  value,
  onChange,
  problems = [],
  idPrefix,
  disabled,
}: SchemaFormProps) {
  const { t } = useI18n();
  const { fields, rest } = placeFieldErrors(problems, fieldPaths(schema, value));
  const ctx: FieldContext = {
    root: value,
    set: (path, v) => {
      const next = setAt(value, path, v);
      onChange(isObject(next) ? next : {});
    },
    problems: new Map(fields.map((f) => [formatFieldPath(f.name), f.errors])),
    idPrefix,
    disabled,
  };
  return (
    <Form layout="vertical" component="div" disabled={disabled}>
      {rest.length > 0 && (
        <Alert
          type="error"
          showIcon
          data-testid="schema-form-problems"
          style={{ marginBottom: 16 }}
          title={t('schemaForm.otherProblems')}
          description={
            <ul style={{ margin: 0, paddingInlineStart: 20 }}>
              {rest.map((d, i) => (
                <li key={`${d.field}-${i}`}>
                  {d.field !== '' && <code>{d.field}</code>}
                  {d.field !== '' && ': '}
                  {d.message}
                </li>
              ))}
            </ul>
          }
        />
      )}
      <ObjectFields schema={schema} path={[]} ctx={ctx} />
      {Object.keys(schema.properties ?? {}).length === 0 && (
        <Field schema={schema} path={[]} label={t('schemaForm.value')} required={false} ctx={ctx} />
      )}
    </Form>
  );
}

function ObjectFields({
  schema,
  path,
  ctx,
}: {
  schema: JSONSchema;
  path: NamePath;
  ctx: FieldContext;
}) {
  const required = new Set(schema.required ?? []);
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([key, ps]) => (
        <Field
          key={key}
          schema={ps}
          path={[...path, key]}
          label={ps.title ?? key}
          required={required.has(key)}
          ctx={ctx}
        />
      ))}
    </>
  );
}

function placeholderOf(s: JSONSchema): string | undefined {
  if (s.default === undefined) {
    const example = s.examples?.[0];
    return typeof example === 'string' || typeof example === 'number' ? String(example) : undefined;
  }
  const d: unknown = s.default;
  if (Array.isArray(d))
    return d.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  return typeof d === 'string' ? d : JSON.stringify(d);
}

function Field({
  schema,
  path,
  label,
  required,
  ctx,
}: {
  schema: JSONSchema;
  path: NamePath;
  label: string;
  required: boolean;
  ctx: FieldContext;
}) {
  const { t } = useI18n();
  const value = getAt(ctx.root, path);
  const id = inputId(ctx.idPrefix, path);
  const errors = ctx.problems.get(formatFieldPath(path)) ?? [];
  const type = schemaType(schema);
  const set = (v: unknown) => ctx.set(path, v);
  const placeholder = placeholderOf(schema);

  const item = (control: ReactNode, opts: { htmlFor?: boolean } = {}) => (
    <Form.Item
      label={label}
      htmlFor={opts.htmlFor === false ? undefined : id}
      required={required}
      extra={schema.description}
      validateStatus={errors.length > 0 ? 'error' : undefined}
      help={errors.length > 0 ? errors.join(' ') : undefined}
      style={{ marginBottom: 16 }}
    >
      {control}
    </Form.Item>
  );

  if (type === 'object' && schema.properties) {
    return (
      <Card
        size="small"
        title={label}
        style={{ marginBottom: 16 }}
        role="group"
        aria-label={label}
        extra={required ? <span aria-hidden>*</span> : undefined}
      >
        {schema.description && (
          <div style={{ marginBottom: 12, opacity: 0.75 }}>{schema.description}</div>
        )}
        {errors.length > 0 && (
          <Alert type="error" showIcon style={{ marginBottom: 12 }} title={errors.join(' ')} />
        )}
        <ObjectFields schema={schema} path={path} ctx={ctx} />
      </Card>
    );
  }

  if (type === 'array' && schema.items && schemaType(schema.items) === 'object') {
    const items = Array.isArray(value) ? (value as unknown[]) : [];
    const itemSchema = schema.items;
    return item(
      <Flex vertical gap={8} role="group" aria-label={label}>
        {items.map((_, i) => (
          <Card
            key={i}
            size="small"
            title={t('schemaForm.item', { field: label, n: i + 1 })}
            extra={
              <Button
                size="small"
                type="text"
                danger
                icon={<DeleteOutlined />}
                aria-label={t('schemaForm.removeItem', { field: label, n: i + 1 })}
                onClick={() => {
                  const next = items.filter((__, j) => j !== i);
                  set(next.length > 0 ? next : undefined);
                }}
              />
            }
          >
            <ObjectFields schema={itemSchema} path={[...path, i]} ctx={ctx} />
          </Card>
        ))}
        <Button
          icon={<PlusOutlined />}
          onClick={() => set([...items, {}])}
          style={{ alignSelf: 'flex-start' }}
        >
          {t('schemaForm.addItem', { field: label })}
        </Button>
      </Flex>,
      { htmlFor: false },
    );
  }

  if (type === 'array') {
    const itemSchema = schema.items ?? {};
    const itemType = schemaType(itemSchema);
    const numeric = itemType === 'integer' || itemType === 'number';
    const list = Array.isArray(value) ? (value as unknown[]).map(String) : [];
    const options = itemSchema.enum?.map((e) => ({ value: String(e), label: String(e) }));
    return item(
      <Select
        id={id}
        mode={options ? 'multiple' : 'tags'}
        value={list}
        options={options}
        open={options ? undefined : false}
        suffix={null}
        tokenSeparators={[',', ' ']}
        placeholder={placeholder ?? t('schemaForm.tagsPlaceholder')}
        onChange={(next: string[]) => {
          const typed = numeric ? next.map(Number).filter((n) => !Number.isNaN(n)) : next;
          set(typed.length > 0 ? typed : undefined);
        }}
      />,
    );
  }

  if (type === 'string' && schema.enum) {
    return item(
      <Select
        id={id}
        allowClear
        value={typeof value === 'string' ? value : undefined}
        placeholder={placeholder}
        options={schema.enum.map((e) => ({ value: String(e), label: String(e) }))}
        onChange={(v: string | undefined) => set(v)}
      />,
    );
  }

  if (type === 'string') {
    const props = {
      id,
      value: typeof value === 'string' ? value : '',
      placeholder,
      autoComplete: 'off',
      spellCheck: false,
      onChange: (e: { target: { value: string } }) =>
        set(e.target.value === '' ? undefined : e.target.value),
    };
    const secret = schema.writeOnly === true || schema.format === 'password';
    return item(secret ? <Input.Password {...props} /> : <Input {...props} />);
  }

  if (type === 'integer' || type === 'number') {
    return item(
      <InputNumber
        id={id}
        style={{ width: '100%' }}
        value={typeof value === 'number' ? value : null}
        min={schema.minimum}
        max={schema.maximum}
        precision={type === 'integer' ? 0 : undefined}
        placeholder={placeholder}
        onChange={(v) => set(typeof v === 'number' ? v : undefined)}
      />,
    );
  }

  if (type === 'boolean') {
    const fallback = typeof schema.default === 'boolean' ? schema.default : false;
    return item(
      <Switch
        id={id}
        checked={typeof value === 'boolean' ? value : fallback}
        onChange={(checked) => set(checked)}
      />,
    );
  }

  // Anything the schema leaves open (no type, free objects, mixed types).
  return item(<JsonText id={id} value={value} onChange={set} rows={4} />);
}
