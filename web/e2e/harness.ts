import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The repository root (web/ is one level down). */
export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Where screenshots go: a git-ignored folder, kept after the run. */
export const artifactsDir = resolve(
  process.env.GATEHOUSE_E2E_ARTIFACTS ?? join(repoRoot, 'test-artifacts', 'console'),
);

/** Chromium flags for a headless, offline, throwaway browser. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function buildDir(): string {
  return resolve(process.env.GATEHOUSE_BUILD_DIR ?? join(repoRoot, 'build'));
}

/** Ports freePort handed out: the kernel may offer a closed probe's port again. */
const handedOut = new Set<number>();

/**
 * freePort asks the kernel for a loopback port nobody listens on, never one
 * it returned before in this process (a gateway and its console must not
 * get the same port).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const srv = createServer();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => resolvePort(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port that was not handed out already');
}

/** pollUntil retries check until it returns true or the deadline passes. */
export async function pollUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const reason = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out waiting for ${what}${reason}`);
}

/** A running gatehouse binary on free loopback ports, with its own data dir. */
export interface Gatehouse {
  consoleUrl: string;
  gatewayUrl: string;
  pluginDir: string;
  /** SHA-256 of the bundled mcp-server.so, as the console should show it. */
  mcpServerSha256: string;
  logFile: string;
  stop: () => Promise<void>;
}

/** Options of startGatehouse. */
export interface GatehouseOptions {
  /** Extra environment variables, such as GATEHOUSE_REDIS_ADDR. */
  env?: Record<string, string>;
}

/**
 * startGatehouse starts the real binary built by `make build`
 * (GATEHOUSE_BUILD_DIR, default <repo>/build) and waits until it is ready.
 */
export async function startGatehouse(options: GatehouseOptions = {}): Promise<Gatehouse> {
  const dir = buildDir();
  const bin = join(dir, 'gatehouse');
  const pluginDir = join(dir, 'plugins');
  const artifact = join(pluginDir, 'mcp-server.so');
  if (!existsSync(bin) || !existsSync(artifact)) {
    throw new Error(
      `no gatehouse binary or mcp-server.so under ${dir}: run "make build" at the repository root first (or set GATEHOUSE_BUILD_DIR)`,
    );
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  const logFile = join(dataDir, 'logs', 'gateway.log');
  const [consolePort, gatewayPort] = [await freePort(), await freePort()];
  mkdirSync(artifactsDir, { recursive: true });
  const out = createWriteStream(join(artifactsDir, 'gatehouse.out'));
  const child: ChildProcess = spawn(
    bin,
    [
      'serve',
      '--console-addr',
      `127.0.0.1:${consolePort}`,
      '--gateway-addr',
      `127.0.0.1:${gatewayPort}`,
      '--data-dir',
      dataDir,
      '--plugin-dir',
      pluginDir,
      '--log-file',
      logFile,
      '--shutdown-timeout',
      '5s',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GATEHOUSE_ADMIN_USER: '', ...options.env },
    },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const consoleUrl = `http://127.0.0.1:${consolePort}`;

  await pollUntil('gatehouse /readyz', async () => {
    if (child.exitCode !== null) {
      throw new Error(`gatehouse exited with ${child.exitCode}; see ${artifactsDir}/gatehouse.out`);
    }
    return (await fetch(`${consoleUrl}/readyz`)).ok;
  });

  return {
    consoleUrl,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    pluginDir,
    mcpServerSha256: createHash('sha256').update(readFileSync(artifact)).digest('hex'),
    logFile,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      out.end();
    },
  };
}

/** A real redis-server on a free loopback port, with a password. */
export interface Redis {
  address: string;
  password: string;
  stop: () => Promise<void>;
}

/**
 * startRedis starts redis-server (never on 6379) with --requirepass and no
 * persistence, and waits until it accepts connections.
 */
export async function startRedis(password: string): Promise<Redis> {
  const bin = process.env.REDIS_SERVER ?? 'redis-server';
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--requirepass',
      password,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let failed: Error | undefined;
  child.once('error', (err) => {
    failed = new Error(`cannot start ${bin} (apt-get install -y redis-server): ${err.message}`);
  });
  await pollUntil(`redis-server on port ${port}`, async () => {
    if (failed) throw failed;
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    return canConnect(port);
  });
  return {
    address: `127.0.0.1:${port}`,
    password,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

/** An upstream HTTP server for routes to send requests to. */
export interface Upstream {
  url: string;
  /** Paths it was asked for, in order. */
  paths: string[];
  stop: () => Promise<void>;
}

/** startUpstream answers every request with 200 and a body naming its path. */
export async function startUpstream(): Promise<Upstream> {
  const paths: string[] = [];
  const srv = createHttpServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`hello from the e2e upstream: ${req.url ?? ''}`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    stop: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** A browser with every request outside 127.0.0.1 blocked and recorded. */
export interface Browser {
  context: BrowserContext;
  page: Page;
  /** URLs the console tried to fetch from anywhere but 127.0.0.1. */
  external: string[];
  close: () => Promise<void>;
}

export async function startBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  const context = await chromium.launchPersistentContext(
    mkdtempSync(join(tmpdir(), 'gatehouse-e2e-chromium-')),
    {
      executablePath,
      headless: true,
      args: chromiumArgs,
      viewport: { width: 1280, height: 800 },
      locale: 'en-US',
      acceptDownloads: true,
    },
  );
  const external: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') {
      await route.continue();
      return;
    }
    external.push(url.href);
    await route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page, external, close: () => context.close() };
}

/**
 * shotIfFailed saves a picture of what the browser showed when the step that
 * just ran failed, named after the step (for afterEach).
 */
export async function shotIfFailed(
  ctx: { task: { name: string; result?: { state?: string } } },
  page: Page,
  prefix: string,
): Promise<void> {
  if (ctx.task.result?.state !== 'fail') return;
  await shot(page, `FAILED-${prefix}${ctx.task.name.replace(/[^a-z0-9]+/gi, '-')}`).catch(
    () => undefined,
  );
}

/** shot saves a screenshot of the page under the artifacts folder. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
}

/** The LLM provider stand-in (tests/llmstandin) on a free loopback port. */
export interface Standin {
  url: string;
  stop: () => Promise<void>;
}

/**
 * startStandin runs the provider stand-in's command, built into the build
 * directory when missing, on a free port.
 */
export async function startStandin(): Promise<Standin> {
  const bin = process.env.LLM_STANDIN ?? join(buildDir(), 'llm-standin');
  if (!existsSync(bin)) {
    execFileSync('go', ['build', '-o', bin, './tests/llmstandin/cmd/llm-standin'], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
  }
  const child: ChildProcess = spawn(bin, ['-addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  let url = '';
  await pollUntil('the LLM stand-in to listen', () => {
    if (child.exitCode !== null) throw new Error(`llm-standin exited with ${child.exitCode}`);
    url = /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '';
    return Promise.resolve(url !== '');
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** AdminApi calls the admin API of a gatehouse as an administrator. */
export type AdminApi = (method: string, path: string, body?: unknown) => Promise<Response>;

/** adminApi signs in as `username` for each call (sessions may be revoked by the steps). */
export function adminApi(gh: Gatehouse, username: string, password: string): AdminApi {
  return async (method, path, body) => {
    const login = await fetch(`${gh.consoleUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const { token } = (await login.json()) as { token: string };
    return fetch(`${gh.consoleUrl}/api/v1${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
}

/** setUpAdmin creates the first administrator in the console's setup page and waits for the dashboard. */
export async function setUpAdmin(
  page: Page,
  gh: Gatehouse,
  username: string,
  password: string,
): Promise<void> {
  await page.goto(gh.consoleUrl);
  await page.waitForURL(/\/setup$/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Repeat the password').fill(password);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}
