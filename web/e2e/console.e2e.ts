import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  freePort,
  pollUntil,
  shot,
  shotIfFailed,
  startBrowser,
  startGatehouse,
  startRedis,
  startUpstream,
  type Browser,
  type Gatehouse,
  type Redis,
  type Upstream,
} from './harness';

// The console against the real gatehouse binary and its real plugin, in a
// real Chromium, step by step: each step starts where the previous one left
// the browser.

const admin = 'admin';
const firstPassword = 'first password 1';
const secondPassword = 'second password 2';

const redisPassword = 'e2e redis password';
const apiKey = 'e2e-key-0123456789abcdef';

let gh: Gatehouse;
let b: Browser;
let redis: Redis;
let upstream: Upstream;

beforeAll(async () => {
  [gh, redis, upstream] = await Promise.all([
    startGatehouse(),
    startRedis(redisPassword),
    startUpstream(),
  ]);
  b = await startBrowser();
  b.page.setDefaultTimeout(15_000);
}, 120_000);

afterAll(async () => {
  await b.close();
  await gh.stop();
  await redis.stop();
  await upstream.stop();
});

// A failed step leaves a picture of what the browser showed.
afterEach((ctx) => shotIfFailed(ctx, b.page, ''));

/** choose picks an option of the open antd select dropdown. */
async function choose(page: Browser['page'], option: string): Promise<void> {
  await page
    .locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${option}"]`)
    .click();
}

/** gateway sends a request through the gateway listener. */
function gateway(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gh.gatewayUrl}${path}`, { headers });
}

/** adminToken signs in through the API for the steps that call it directly. */
async function adminToken(password: string): Promise<string> {
  const res = await fetch(`${gh.consoleUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: admin, password }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** marker makes the server log a line no one else writes: a 404 on the admin API. */
async function marker(name: string): Promise<string> {
  const m = `e2e-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(`${gh.consoleUrl}/api/v1/${m}`);
  expect(res.status).toBe(404);
  return m;
}

describe('console against the real binary', { concurrent: false }, () => {
  it('serves the built console, not the placeholder', async () => {
    const html = await (await fetch(`${gh.consoleUrl}/`)).text();
    expect(
      html,
      'this gatehouse binary embeds the "not built" placeholder: run make build with Node.js installed',
    ).toContain('<div id="root">');
    // Client-side routes survive a reload.
    const deep = await fetch(`${gh.consoleUrl}/logs`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('creates the first administrator on first start', async () => {
    const { page } = b;
    await page.goto(gh.consoleUrl);
    await page.waitForURL(/\/setup$/);
    await page.getByLabel('Username').fill(admin);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Repeat the password').fill('different');
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByText('Use at least 8 characters.').waitFor();
    await page.getByText('The two passwords differ.').waitFor();
    await shot(page, '01-setup-validation');

    await page.getByLabel('Password', { exact: true }).fill(firstPassword);
    await page.getByLabel('Repeat the password').fill(firstPassword);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.waitForURL(`${gh.consoleUrl}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  it('shows health with the bundled plugin verified', async () => {
    const { page } = b;
    const plugin = page.getByTestId('health-plugin-mcp-server');
    await expect.poll(() => plugin.textContent()).toContain('Healthy');
    expect(await page.getByTestId('health-database-database').textContent()).toContain('Healthy');
    expect(await page.getByTestId('health-overall').textContent()).toMatch(
      /All systems operational|Degraded/,
    );
    await shot(page, '02-dashboard');
  });

  it('refuses a wrong password and signs in with the right one', async () => {
    const { page } = b;
    await page.getByRole('button', { name: `Signed in as ${admin}` }).click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    await page.getByLabel('Username').fill(admin);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Wrong username or password.');
    await shot(page, '03-login-wrong-password');
    await page.getByLabel('Password').fill(firstPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  it('lists the plugin and edits its image address', async () => {
    const { page } = b;
    await page.getByRole('link', { name: 'Plugins' }).click();
    const card = page.getByTestId('plugin-mcp-server');
    await card.getByText('Verified', { exact: true }).waitFor();
    await card.getByText(gh.mcpServerSha256).waitFor();

    await card.getByRole('button', { name: 'Edit image address' }).click();
    const dialog = page.getByRole('dialog');
    const field = dialog.getByLabel('Image address');
    const save = dialog.getByRole('button', { name: 'Save' });

    // Caught in the browser: plain http.
    await field.fill('http://example.com/mcp-server.so');
    await save.click();
    await dialog.getByText('Plain http:// is not allowed').waitFor();

    // Caught by the server, shown under the field: no such file.
    await field.fill('file:///nonexistent/gatehouse/mcp-server.so');
    await save.click();
    const notFound = dialog.getByText(
      /failed verification at step exists: \/nonexistent\/gatehouse\/mcp-server\.so/,
    );
    await notFound.waitFor();
    await shot(page, '04-plugin-address-error');

    // A pinned digest that matches the artifact: saved, restart needed.
    const pinned = `file://${gh.pluginDir}/mcp-server.so#sha256=${gh.mcpServerSha256}`;
    await field.fill(pinned);
    // The server's error goes as the address changes; let the dialog settle before Save.
    await notFound.waitFor({ state: 'hidden' });
    await save.click();
    await dialog.waitFor({ state: 'hidden' });
    await card.getByText('Restart required', { exact: true }).waitFor();
    await card.getByText(pinned).waitFor();
    await shot(page, '05-plugins-restart-required');
  });

  it('creates a service and a route, and the gateway serves them', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Services' }).click();
    await page.getByRole('heading', { name: 'Services' }).waitFor();
    await page.getByRole('button', { name: /New service/ }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('Name').fill('echo-upstream');
    // Caught in the browser: an endpoint with credentials.
    await drawer.getByLabel('URL of endpoint 1').fill('http://user:pw@127.0.0.1:1');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.getByText(/Remove the user and password from the URL/).waitFor();
    await drawer.getByLabel('URL of endpoint 1').fill(upstream.url);
    await drawer
      .getByText(/Remove the user and password from the URL/)
      .waitFor({ state: 'hidden' });
    await shot(page, '10-service-form');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: upstream.url, exact: true }).waitFor();
    await shot(page, '11-services');

    await page.getByRole('navigation').getByRole('link', { name: 'Routes', exact: true }).click();
    await page.getByRole('heading', { name: 'Routes' }).waitFor();
    await page.getByRole('button', { name: /New route/ }).click();
    await drawer.getByLabel('Name').fill('echo');
    await drawer.getByLabel('Path', { exact: true }).fill('/e2e//x');
    await drawer.getByLabel('Service').click();
    await choose(page, 'echo-upstream');
    await drawer.getByRole('button', { name: 'Save' }).click();
    // The path must be canonical, as the gateway matches cleaned paths.
    await drawer
      .getByText('Requests are matched after cleaning their path; write /e2e/x.')
      .waitFor();
    await drawer.getByLabel('Path', { exact: true }).fill('/e2e');
    await drawer.getByText(/Requests are matched after cleaning/).waitFor({ state: 'hidden' });
    await shot(page, '12-route-form');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'echo-upstream', exact: true }).waitFor();
    await page.getByLabel('Gateway address').fill(gh.gatewayUrl);
    await page.getByLabel('Gateway address').press('Enter');
    await page.getByText(`${gh.gatewayUrl}/e2e`, { exact: true }).waitFor();
    await shot(page, '13-routes');

    let body = '';
    await pollUntil('the route to serve through the gateway', async () => {
      const res = await gateway('/e2e/hello');
      body = await res.text();
      return res.status === 200;
    });
    expect(body).toBe('hello from the e2e upstream: /e2e/hello');
    expect(upstream.paths).toContain('/e2e/hello');
  });

  it('attaches key-auth to the route with the schema form', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Plugin instances' }).click();
    await page.getByRole('heading', { name: 'Plugin instances' }).waitFor();
    await page.getByRole('button', { name: /New instance/ }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('Name', { exact: true }).fill('echo-auth');
    await drawer.getByLabel('Plugin', { exact: true }).click();
    await choose(page, 'key-auth');
    await drawer.getByLabel('Attached to').click();
    await choose(page, 'Route');
    await drawer.getByLabel('Route', { exact: true }).click();
    await choose(page, 'echo');
    // The form comes from the plugin's JSON schema; its checks run in place.
    await drawer.getByRole('button', { name: /Add to consumers/ }).click();
    await drawer.getByLabel('name', { exact: true }).fill('alice');
    await drawer.getByLabel('key', { exact: true }).fill('short');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.getByText('Use at least 16 characters.').waitFor();
    await drawer.getByLabel('key', { exact: true }).fill(apiKey);
    await drawer.getByText('Use at least 16 characters.').waitFor({ state: 'hidden' });
    // The raw JSON beside the form follows it.
    await expect
      .poll(
        async () =>
          JSON.parse(await drawer.getByLabel('Configuration as JSON').inputValue()) as unknown,
      )
      .toEqual({ consumers: [{ name: 'alice', key: apiKey }] });
    await shot(page, '14-plugin-instance-form');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'echo-auth', exact: true }).waitFor();
    await shot(page, '15-plugin-instances');

    await pollUntil(
      'key-auth to guard the route',
      async () => (await gateway('/e2e/k')).status === 401,
    );
    expect((await gateway('/e2e/k', { 'x-api-key': apiKey })).status).toBe(200);
  });

  it('imports a Higress YAML MCP server and tries its tool', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'MCP servers' }).click();
    await page.getByRole('heading', { name: 'MCP servers' }).waitFor();
    await page.getByRole('button', { name: /Add MCP server/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog
      .getByLabel('Open a file…')
      .setInputFiles(join(import.meta.dirname, 'testdata', 'mcp-time.yaml'));
    await expect
      .poll(() => dialog.getByLabel('Definition (YAML or JSON)').inputValue())
      .toContain('name: get-current-time');
    await shot(page, '16-mcp-import');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/mcp-servers\/time$/);
    await page.getByRole('heading', { name: 'time' }).waitFor();

    const card = page.getByTestId('tool-get-current-time');
    await card.getByRole('button', { name: 'Try get-current-time' }).click();
    const drawer = page.locator('.ant-drawer-open');
    // The arguments form comes from the tool's input schema, starting from its default.
    await expect.poll(() => drawer.getByLabel('timeZone').inputValue()).toBe('Asia/Shanghai');
    await drawer.getByLabel('timeZone').fill('UTC');
    await drawer.getByRole('button', { name: /Render request/ }).click();
    await drawer.getByText(/there is nothing to render/).waitFor();
    await drawer.getByRole('button', { name: /Call tool/ }).click();
    const text = drawer.getByTestId('tool-result-text');
    await text.waitFor();
    const now = new Date();
    expect(await text.textContent()).toMatch(
      new RegExp(`^\\w+day, ${now.getUTCFullYear()}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$`),
    );
    await shot(page, '17-mcp-try-it');
    await drawer.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('tab', { name: 'Connect' }).click();
    const url = `${gh.gatewayUrl}/mcp-servers/time`;
    await page.getByText(url, { exact: true }).first().waitFor();
    expect(await page.getByTestId('snippet-cursor').textContent()).toContain(`"url": "${url}"`);
    expect(await page.getByTestId('snippet-inspector').textContent()).toContain(
      `npx @modelcontextprotocol/inspector --cli ${url} --transport http`,
    );
    await shot(page, '18-mcp-connect');

    // The URL shown is where MCP clients really connect.
    const init = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'e2e', version: '1' },
        },
      }),
    });
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('"serverInfo"');

    // The tools editor saves the whole server; the definition shows the change.
    await page.getByRole('tab', { name: 'Tools' }).click();
    await card.getByRole('button', { name: 'Edit get-current-time' }).click();
    await drawer
      .getByLabel('Description', { exact: true })
      .fill('The current time in a time zone (e2e)');
    await shot(page, '19-mcp-tool-editor');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.waitFor({ state: 'detached' });
    await card.getByText('The current time in a time zone (e2e)').waitFor();

    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Streamable HTTP path').waitFor();
    await shot(page, '20-mcp-settings');

    await page.getByRole('tab', { name: 'Definition' }).click();
    await expect
      .poll(() => page.getByRole('textbox', { name: 'Definition' }).inputValue())
      .toContain('description: The current time in a time zone (e2e)');
    await shot(page, '21-mcp-definition');

    await page.getByRole('navigation').getByRole('link', { name: 'MCP servers' }).click();
    await page.getByRole('link', { name: 'time', exact: true }).waitFor();
    await page.getByText(url, { exact: true }).waitFor();
    await shot(page, '22-mcp-servers');
  });

  it('imports an OpenAPI document, reviews the definition and renders a request', async () => {
    const { page } = b;
    await page.getByRole('button', { name: /Add MCP server/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('tab', { name: 'OpenAPI' }).click();
    await dialog.getByLabel('Name', { exact: true }).fill('pets');
    await dialog
      .getByLabel('Open a file…')
      .last()
      .setInputFiles(join(import.meta.dirname, 'testdata', 'pets-openapi.json'));
    await expect
      .poll(() => dialog.getByLabel('OpenAPI document (YAML or JSON)').inputValue())
      .toContain('getPet');
    await dialog.getByRole('button', { name: 'Import' }).click();
    await dialog.getByText('1 tools generated. Review them before saving.').waitFor();
    expect(await dialog.getByLabel('Generated definition').inputValue()).toContain('getPet');
    await shot(page, '27-mcp-openapi-review');
    await dialog.getByRole('button', { name: 'Save MCP server' }).click();
    await page.waitForURL(/\/mcp-servers\/pets$/);

    const card = page.getByTestId('tool-getPet');
    await card.getByRole('button', { name: 'Try getPet' }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('id', { exact: true }).fill('42');
    await drawer.getByRole('button', { name: /Render request/ }).click();
    const rendered = drawer.getByTestId('tool-rendered');
    await rendered.waitFor();
    expect(await rendered.textContent()).toContain('GET http://127.0.0.1:9/v1/pets/42');
    await shot(page, '28-mcp-render');
    await drawer.getByRole('button', { name: 'Close' }).click();
  });

  it('tests Redis: authentication failed with a wrong password, OK with the right one', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Redis' }).click();
    await page.getByRole('heading', { name: 'Redis' }).waitFor();
    await page.getByLabel('Address 1').fill(redis.address);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: /Test connection/ }).click();
    const diagnosis = page.getByTestId('redis-diagnosis');
    await expect.poll(() => diagnosis.textContent()).toMatch(/Authentication failed/);
    await shot(page, '23-redis-auth-failed');

    await page.getByLabel('Password', { exact: true }).fill(redis.password);
    await page.getByRole('button', { name: /Test connection/ }).click();
    await expect.poll(() => diagnosis.textContent()).toMatch(/Connected/);
    expect(await diagnosis.textContent()).toMatch(
      /Redis \d+\.\d+\.\d+ \(standalone\) answered a PING/,
    );

    await page.getByRole('button', { name: /Save and apply/ }).click();
    await page.getByText('Redis settings saved and applied — no restart needed.').waitFor();
    // The password is write-only: stored, never shown.
    await page.getByText('A password is stored. It is never shown.').waitFor();
    await expect
      .poll(() => page.getByTestId('redis-current').textContent(), { timeout: 20_000 })
      .toContain('Healthy');
    await shot(page, '24-redis');
  });

  it('shows a gateway log line produced by a request', async () => {
    const { page } = b;
    // A route whose service is down makes the gateway log the request.
    const token = await adminToken(firstPassword);
    const post = (path: string, body: unknown) =>
      fetch(`${gh.consoleUrl}/api/v1${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const deadPort = await freePort();
    expect(
      (
        await post('/services', {
          name: 'down',
          endpoints: [{ url: `http://127.0.0.1:${deadPort}` }],
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await post('/routes', {
          name: 'down',
          path: { type: 'prefix', value: '/down' },
          service: 'down',
        })
      ).status,
    ).toBe(201);
    const marker = `/down/e2e-${Math.random().toString(36).slice(2, 8)}`;
    await pollUntil(
      'the gateway to fail the request to a dead upstream',
      async () => (await gateway(marker)).status >= 500,
    );

    await page.getByRole('navigation').getByRole('link', { name: 'Logs' }).click();
    await page.getByRole('searchbox', { name: 'Search' }).fill(marker);
    const lines = page.getByTestId('log-lines');
    // The search applies after a pause in typing, and the line may reach
    // the log a moment after the request failed: wait for the filtered
    // view to hold the line, not for any line of the unfiltered one.
    await expect.poll(async () => (await lines.textContent()) ?? '').toContain(marker);
    await lines
      .getByText(/upstream request failed/)
      .first()
      .waitFor();
    await shot(page, '25-logs-gateway-request');
  });

  it('lists the changes in the history', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
    await page.getByRole('heading', { name: 'History' }).waitFor();
    const table = page.locator('.ant-table');
    for (const name of ['echo-upstream', 'echo', 'echo-auth', 'time']) {
      await table.getByText(name, { exact: true }).first().waitFor();
    }
    await shot(page, '26-history');

    // Rolling back the creation of echo-auth deletes it: the route is open again.
    const row = table.locator('tr', { hasText: 'echo-auth' }).filter({ hasText: 'Created' });
    await row.getByRole('button', { name: /Roll back/ }).click();
    await page.locator('.ant-popover').getByRole('button', { name: 'Roll back' }).click();
    await page.getByText(/Change #\d+ of echo-auth rolled back\./).waitFor();
    await pollUntil(
      'the route to be open again',
      async () => (await gateway('/e2e/r')).status === 200,
    );
  });

  it('tails the log, filters, highlights and follows it live', async () => {
    const { page } = b;
    const before = await marker('tail');
    await page.getByRole('link', { name: 'Logs' }).click();
    const lines = page.getByTestId('log-lines');
    await lines.getByText(before).waitFor();
    await page.getByText('Live', { exact: true }).waitFor();

    // Search highlights what it found.
    await page.getByRole('searchbox', { name: 'Search' }).fill('image address changed');
    await expect
      .poll(async () => (await lines.locator('mark').allTextContents())[0])
      .toBe('image address changed');
    await page.getByRole('searchbox', { name: 'Search' }).fill('');

    // Live follow appends lines written after the page loaded.
    await lines.getByText(before).waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    const live = await marker('live');
    await lines.getByText(live).waitFor();

    // Paused, new lines wait; resumed, they show.
    await page.getByRole('button', { name: 'Pause' }).click();
    const paused = await marker('paused');
    await page.getByRole('button', { name: /Resume \(\d+ new\)/ }).waitFor();
    expect(await lines.getByText(paused).count()).toBe(0);
    await page.getByRole('button', { name: /Resume/ }).click();
    await lines.getByText(paused).waitFor();

    // Level filter: a 404 is a warning, so it stays with "warnings and errors".
    await page.getByLabel('Level').click();
    await page.getByTitle('Warnings and errors').click();
    await lines.getByText(paused).waitFor();
    await expect.poll(() => lines.locator('[data-level="info"]').count()).toBe(0);
    await expect.poll(() => lines.locator('[data-level="warn"]').count()).toBeGreaterThan(0);

    // A line shows time, level, component and message as columns; the
    // other fields open on demand.
    const row = lines.locator('.gh-log-row', { hasText: paused }).first();
    expect(await row.locator('.gh-log-level').textContent()).toBe('WARN');
    expect(await row.locator('.gh-log-component').textContent()).toBe('admin');
    await row.getByRole('button', { name: 'Show all fields' }).click();
    await row.getByTestId('log-fields').getByText(`/api/v1/${paused}`).waitFor();
    await shot(page, '06-logs');

    // Download saves what is shown.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    const path = await download.path();
    expect(readFileSync(path, 'utf8')).toContain(paused);
  });

  it('changes the password, logs out and signs in with the new one', async () => {
    const { page } = b;
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByLabel('Current password').fill('wrong current password');
    await page.getByLabel('New password', { exact: true }).fill(secondPassword);
    await page.getByLabel('Repeat the new password').fill(secondPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    // The server's field error, under the current password.
    await page.getByText('does not match').waitFor();

    await page.getByLabel('Current password').fill(firstPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    await shot(page, '07-account');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    await page.getByLabel('Username').fill(admin);
    await page.getByLabel('Password').fill(secondPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  it('creates a read token, shows it once and revokes it', async () => {
    const { page } = b;
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: /Create token/ }).click();
    await page.getByLabel('Name').fill('e2e-reader');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByText(/it will not be shown again/).waitFor();
    const token = ((await page.getByTestId('new-token').textContent()) ?? '').trim();
    expect(token).toMatch(/^ght_/);
    await shot(page, '07-token-created');

    // The token reads the admin API but cannot change it.
    const routes = `${gh.consoleUrl}/api/v1/routes`;
    const bearer = { Authorization: `Bearer ${token}` };
    expect((await fetch(routes, { headers: bearer })).status).toBe(200);
    const write = await fetch(`${gh.consoleUrl}/api/v1/tokens`, {
      method: 'POST',
      headers: { ...bearer, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'minted', scope: 'read' }),
    });
    expect(write.status).toBe(403);

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await pollUntil(
      'the secret to leave the page',
      async () => (await page.getByText(token).count()) === 0,
    );
    const row = page.getByRole('row', { name: /e2e-reader/ });
    await row.getByText('Read', { exact: true }).waitFor();

    await row.getByRole('button', { name: 'Revoke e2e-reader' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('Token "e2e-reader" revoked.').waitFor();
    await pollUntil('the token to leave the list', async () => (await row.count()) === 0);
    expect((await fetch(routes, { headers: bearer })).status).toBe(401);
  });

  it('switches to Chinese and remembers it', async () => {
    const { page } = b;
    await page.getByText('中文').click();
    const nav = page.getByRole('navigation');
    for (const label of [
      '概览',
      '路由',
      '服务',
      'MCP 服务器',
      '插件实例',
      '插件',
      'Redis',
      '日志',
      '变更历史',
      '账户',
    ]) {
      await nav.getByRole('link', { name: label, exact: true }).waitFor();
    }
    await page.reload();
    await page.getByRole('navigation').getByRole('link', { name: '日志', exact: true }).waitFor();
    await shot(page, '08-dashboard-zh');
    await nav.getByRole('link', { name: 'MCP 服务器', exact: true }).click();
    await page.getByRole('heading', { name: 'MCP 服务器' }).waitFor();
    await page.getByRole('button', { name: /添加 MCP 服务器/ }).waitFor();
    await page.getByRole('cell', { name: '无（公开）' }).first().waitFor();
    await shot(page, '08-mcp-servers-zh');
    await nav.getByRole('link', { name: 'Redis', exact: true }).click();
    await page.getByRole('button', { name: /测试连接/ }).waitFor();
    await shot(page, '08-redis-zh');
  });

  it('works in a narrow window', async () => {
    const { page } = b;
    await page.setViewportSize({ width: 420, height: 800 });
    await page.getByRole('button', { name: '导航' }).click();
    await page.getByRole('navigation').getByRole('link', { name: '插件', exact: true }).click();
    await page.getByTestId('plugin-mcp-server').waitFor();
    await pollUntil(
      'the navigation drawer to close',
      async () => !(await page.locator('.ant-drawer-open').isVisible()),
    );
    await shot(page, '09-plugins-narrow-zh');
  });

  it('never fetched anything from outside 127.0.0.1', () => {
    expect(b.external).toEqual([]);
  });
});
