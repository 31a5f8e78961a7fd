import { Alert, Col, Row, Typography } from 'antd';
import type { ApiErrorDetail, JSONSchema } from '../api/types';
import { useI18n } from '../i18n/context';
import { isObject } from '../lib/jsonSchema';
import { JsonText } from './JsonText';
import { SchemaForm } from './SchemaForm';

interface ConfigEditorProps {
  /** The JSON Schema of the value; without one only the JSON editor shows. */
  schema: JSONSchema | undefined;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  problems?: readonly ApiErrorDetail[];
  idPrefix: string;
  /** Label of the raw JSON editor. */
  jsonLabel?: string;
}

/**
 * ConfigEditor edits a JSON object twice over, side by side: a form
 * generated from its schema and the raw JSON, kept in step. On a narrow
 * window the JSON editor moves below the form.
 */
export function ConfigEditor({
  schema,
  value,
  onChange,
  problems,
  idPrefix,
  jsonLabel,
}: ConfigEditorProps) {
  const { t } = useI18n();
  const hasForm = schema !== undefined && Object.keys(schema.properties ?? {}).length > 0;
  const jsonId = `${idPrefix}-json`;
  const json = (
    <>
      <Typography.Text strong>
        <label htmlFor={jsonId}>{jsonLabel ?? t('schemaForm.json')}</label>
      </Typography.Text>
      <div style={{ marginTop: 8 }}>
        <JsonText
          id={jsonId}
          value={value}
          objectOnly
          rows={hasForm ? 18 : 10}
          onChange={(v) => onChange(isObject(v) ? v : {})}
        />
      </div>
    </>
  );
  if (!hasForm) {
    return (
      <>
        {problems && problems.length > 0 && (
          <Alert
            type="error"
            showIcon
            style={{ marginBottom: 12 }}
            title={t('schemaForm.otherProblems')}
            description={
              <ul style={{ margin: 0, paddingInlineStart: 20 }}>
                {problems.map((d, i) => (
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
        {json}
      </>
    );
  }
  return (
    <Row gutter={[24, 16]}>
      <Col xs={24} xl={14}>
        <Typography.Text strong style={{ display: 'block', marginBottom: 8 }}>
          {t('schemaForm.form')}
        </Typography.Text>
        <SchemaForm
          schema={schema}
          value={value}
          onChange={onChange}
          problems={problems}
          idPrefix={idPrefix}
        />
      </Col>
      <Col xs={24} xl={10}>
        {json}
      </Col>
    </Row>
  );
}
