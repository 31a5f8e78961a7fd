// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App as AntApp } from 'antd';
import { useState } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiErrorDetail, JSONSchema } from '../api/types';
import { I18nProvider } from '../i18n/I18nProvider';
import { pluginSchema } from '../test/pluginSchemas';
import { ConfigEditor } from './ConfigEditor';

beforeEach(() => localStorage.clear());
afterEach(cleanup);

let latest: Record<string, unknown> = {};

function Harness({
  schema,
  initial = {},
  problems,
}: {
  schema: JSONSchema;
  initial?: Record<string, unknown>;
  problems?: ApiErrorDetail[];
}) {
  const [value, setValue] = useState(initial);
  return (
    <ConfigEditor
      schema={schema}
      value={value}
      onChange={(v) => {
        latest = v;
        setValue(v);
      }}
      problems={problems}
      idPrefix="cfg"
    />
  );
}

function show(ui: React.ReactElement) {
  latest = {};
  return render(
    <I18nProvider>
      <AntApp>{ui}</AntApp>
    </I18nProvider>,
  );
}

const user = () => userEvent.setup({ delay: null });

describe('schema-driven config form', () => {
  const keyAuth = pluginSchema('key-auth');

  it('builds fields from the key-auth schema and writes what is typed into the config', async () => {
    show(<Harness schema={keyAuth} />);
    // Descriptions from the schema explain the fields.
    expect(screen.getByText(/Who may call, each with their own key/)).toBeTruthy();
    await user().click(screen.getByRole('button', { name: /Add to consumers/ }));
    await user().type(screen.getByLabelText('name'), 'alice');
    const key = screen.getByLabelText('key');
    // The key is write-only in the schema: a password input.
    expect(key.getAttribute('type')).toBe('password');
    await user().type(key, 'a-long-enough-key-123');
    expect(latest).toEqual({ consumers: [{ name: 'alice', key: 'a-long-enough-key-123' }] });
  });

  it('shows defaults without writing them, and writes a switch only when flipped', async () => {
    show(<Harness schema={keyAuth} />);
    expect(screen.getByLabelText('realm').getAttribute('placeholder')).toBe('gatehouse');
    const inHeader = screen.getByLabelText('inHeader');
    expect(inHeader.getAttribute('aria-checked')).toBe('true');
    expect(latest).toEqual({});
    await user().click(screen.getByLabelText('inQuery'));
    expect(latest).toEqual({ inQuery: true });
  });

  it('turns a list of strings into a tag input', async () => {
    show(<Harness schema={keyAuth} />);
    await user().type(screen.getByLabelText('keys'), 'x-key{enter}authorization{enter}');
    expect(latest).toEqual({ keys: ['x-key', 'authorization'] });
  });

  it('offers the enum of a string as a select', async () => {
    show(<Harness schema={pluginSchema('cluster-rate-limit')} />);
    fireEvent.mouseDown(screen.getByLabelText('limitBy'));
    fireEvent.click(await screen.findByTitle('consumer'));
    expect(latest).toEqual({ limitBy: 'consumer' });
  });

  it('puts problems under the field they name and the others above the form', () => {
    show(
      <Harness
        schema={keyAuth}
        initial={{ consumers: [{ name: 'alice', key: 'short' }] }}
        problems={[
          { field: 'consumers[0].key', message: 'use at least 16 characters' },
          { field: 'unknownThing', message: 'not accepted' },
        ]}
      />,
    );
    const keyItem = screen.getByLabelText('key').closest('.ant-form-item');
    expect(
      keyItem && within(keyItem as HTMLElement).getByText('use at least 16 characters'),
    ).toBeTruthy();
    const alert = screen.getByTestId('schema-form-problems');
    expect(within(alert).getByText(/not accepted/)).toBeTruthy();
    expect(within(alert).queryByText('use at least 16 characters')).toBeNull();
  });

  it('keeps the form and the raw JSON in step both ways', async () => {
    show(<Harness schema={keyAuth} />);
    const json = screen.getByLabelText<HTMLTextAreaElement>('JSON');
    fireEvent.change(json, { target: { value: '{"realm": "api", "inQuery": true}' } });
    expect(latest).toEqual({ realm: 'api', inQuery: true });
    expect(screen.getByLabelText<HTMLInputElement>('realm').value).toBe('api');

    await user().clear(screen.getByLabelText('realm'));
    await user().type(screen.getByLabelText('realm'), 'edge');
    await waitFor(() => expect(JSON.parse(json.value)).toEqual({ realm: 'edge', inQuery: true }));

    // Text that does not parse is flagged and changes nothing.
    fireEvent.change(json, { target: { value: '{"realm": ' } });
    expect(screen.getByText(/Not valid JSON/)).toBeTruthy();
    expect(latest).toEqual({ realm: 'edge', inQuery: true });
  });

  it('falls back to the JSON editor alone without a schema', () => {
    show(<Harness schema={{}} initial={{ any: 1 }} />);
    expect(screen.queryByText('Form')).toBeNull();
    expect(JSON.parse(screen.getByLabelText<HTMLTextAreaElement>('JSON').value)).toEqual({
      any: 1,
    });
  });
});
