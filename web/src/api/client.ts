import { SSEParser } from './sse';
import type {
  AIRoute,
  AIUsage,
  Consumer,
  ConsumersUsage,
  ConsumerUsage,
  AllowancePeriod,
  ModelPrice,
  NewConsumerKey,
  APIToken,
  ApiErrorBody,
  ApiErrorDetail,
  AuthStatus,
  ChangePasswordRequest,
  CreateTokenRequest,
  CreatedToken,
  Credentials,
  CurrentUser,
  Health,
  InitResponse,
  LLMProvider,
  ListResponse,
  LogEntry,
  LogQuery,
  LoginResponse,
  MCPServer,
  MCPStatus,
  MetricSeries,
  Plugin,
  PluginInstance,
  ProviderTestResult,
  RedisDiagnosis,
  RedisSettingsRequest,
  RedisSettingsView,
  RenderedRequest,
  Revision,
  RollbackResult,
  Route,
  Service,
  ToolInfo,
  ToolResult,
  TopUp,
  UpdatePluginRequest,
  UsageWindow,
} from './types';

/** Error codes the client produces itself, when there is no API answer. */
export const clientErrorCodes = {
  network: 'network_error',
  badResponse: 'bad_response',
} as const;

/**
 * ApiError is every failure of an admin API call: an error envelope from the
 * server, an HTTP error without one (code "http_<status>"), an unreadable
 * answer ("bad_response") or no answer at all ("network_error", status 0).
 * Callers branch on `code`, never on `message`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ApiErrorDetail[];
  /** Seconds to wait before retrying, from a Retry-After header. */
  readonly retryAfterSeconds: number | undefined;
  /** The server's request id, to find the full error in gateway.log. */
  readonly requestId: string | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: ApiErrorDetail[];
    retryAfterSeconds?: number;
    requestId?: string;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.requestId = init.requestId;
  }
}

/** isApiError narrows an unknown error to ApiError, optionally of one code. */
export function isApiError(err: unknown, code?: string): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

export interface ApiClientOptions {
  /** Where the admin API lives; "/api/v1" on the console's own origin by default. */
  baseUrl?: string;
  /**
   * Called when an authenticated call answers 401: the session expired or
   * was revoked. Not called for the public auth endpoints, whose 401 means
   * wrong credentials.
   */
  onUnauthorized?: () => void;
}

interface RequestOptions {
  body?: unknown;
  /** A body sent as it is, such as a YAML document. */
  raw?: { contentType: string; text: string };
  signal?: AbortSignal | undefined;
  /** A public endpoint: a 401 is an answer, not a lost session. */
  public?: boolean;
  /**
   * Non-2xx statuses whose body may still be the resource (health answers
   * 503 with its report); `is` tells the resource from an error envelope.
   */
  accept?: { statuses: number[]; is: (body: unknown) => boolean };
}

/**
 * ResourceClient is the CRUD of one kind of configuration object
 * (docs/configuration.md): list with an optional name filter, get, create
 * (201), update with the version read (409 "version_conflict" when stale)
 * and delete.
 */
export interface ResourceClient<T> {
  list: (q?: string, signal?: AbortSignal) => Promise<ListResponse<T>>;
  get: (name: string, signal?: AbortSignal) => Promise<T>;
  create: (obj: T) => Promise<T>;
  update: (name: string, obj: T) => Promise<T>;
  /** remove deletes the object; with `version` it refuses (409) when the object changed since. */
  remove: (name: string, version?: number) => Promise<void>;
}

/** Query of the revision history. */
export interface RevisionQuery {
  limit?: number;
  offset?: number;
}

/** Handlers for a followed log stream. */
export interface LogStreamHandlers {
  /** Called once the server accepted the stream. */
  onOpen?: () => void;
  /** Called for every log line, in order. */
  onEntry: (entry: LogEntry) => void;
}

/**
 * ApiClient is the one typed client of the Gatehouse admin API. It sends the
 * session cookie (same origin), decodes the error envelope into ApiError and
 * reports lost sessions through onUnauthorized. It holds no other state and
 * is safe to share.
 */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly onUnauthorized: (() => void) | undefined;

  /** Upstream services (/services). */
  readonly services: ResourceClient<Service>;
  /** Routes (/routes). */
  readonly routes: ResourceClient<Route>;
  /** Plugin instances (/plugin-instances). */
  readonly pluginInstances: ResourceClient<PluginInstance>;
  /** MCP servers (/mcp-servers), as JSON; see also the YAML and tool methods. */
  readonly mcpServers: ResourceClient<MCPServer>;
  /** LLM providers (/llm-providers); their tokens come back masked. */
  readonly llmProviders: ResourceClient<LLMProvider>;
  /** AI routes (/ai-routes). */
  readonly aiRoutes: ResourceClient<AIRoute>;
  /** Consumers (/consumers); a created consumer's new key is in the create answer only. */
  readonly consumers: ResourceClient<Consumer>;
  /** Model prices (/model-prices), USD per million tokens. */
  readonly modelPrices: ResourceClient<ModelPrice>;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '/api/v1').replace(/\/+$/, '');
    this.onUnauthorized = options.onUnauthorized;
    this.services = this.resource('/services');
    this.routes = this.resource('/routes');
    this.pluginInstances = this.resource('/plugin-instances');
    this.mcpServers = this.resource('/mcp-servers');
    this.llmProviders = this.resource('/llm-providers');
    this.aiRoutes = this.resource('/ai-routes');
    this.consumers = this.resource('/consumers');
    this.modelPrices = this.resource('/model-prices');
  }

  /** addConsumerKey generates a new key for a consumer; the answer is the only time it is shown. */
  addConsumerKey(name: string, expiresAt?: string): Promise<NewConsumerKey> {
    return this.request('POST', `/consumers/${encodeURIComponent(name)}/keys`, {
      body: expiresAt ? { expiresAt } : {},
    });
  }

  /** revokeConsumerKey removes a key; key-auth refuses it from the next configuration on. */
  revokeConsumerKey(name: string, id: string): Promise<void> {
    return this.request(
      'DELETE',
      `/consumers/${encodeURIComponent(name)}/keys/${encodeURIComponent(id)}`,
    );
  }

  /**
   * consumerUsage is what a consumer used in the current day or month (the
   * server's default: its budget's period, else its quota's, else month),
   * with its remaining quota and budget and the figures per model.
   */
  consumerUsage(
    name: string,
    period?: AllowancePeriod,
    signal?: AbortSignal,
  ): Promise<ConsumerUsage> {
    return this.request('GET', `${usagePath(name)}${period ? `?period=${period}` : ''}`, {
      signal,
    });
  }

  /** consumersUsage is every consumer's usage in the current period, without the models. */
  consumersUsage(period?: AllowancePeriod, signal?: AbortSignal): Promise<ConsumersUsage> {
    return this.request('GET', `/consumers/usage${period ? `?period=${period}` : ''}`, {
      signal,
    });
  }

  /**
   * topUpConsumer adds dollars and/or tokens to the current period's budget
   * and quota; 400 names the field when a value is not positive or the
   * consumer has no such allowance.
   */
  topUpConsumer(name: string, topUp: TopUp): Promise<ConsumerUsage> {
    return this.request('POST', `${usagePath(name)}/top-up`, { body: topUp });
  }

  /** resetConsumerUsage zeroes the period's counters and top-ups of a consumer. */
  resetConsumerUsage(name: string, period?: AllowancePeriod): Promise<ConsumerUsage> {
    return this.request('POST', `${usagePath(name)}/reset`, { body: period ? { period } : {} });
  }

  private resource<T>(path: string): ResourceClient<T> {
    const one = (name: string) => `${path}/${encodeURIComponent(name)}`;
    return {
      list: (q, signal) =>
        this.request('GET', q ? `${path}?${new URLSearchParams({ q }).toString()}` : path, {
          signal,
        }),
      get: (name, signal) => this.request('GET', one(name), { signal }),
      create: (obj) => this.request('POST', path, { body: obj }),
      update: (name, obj) => this.request('PUT', one(name), { body: obj }),
      remove: (name, version) =>
        this.request(
          'DELETE',
          version !== undefined && version > 0 ? `${one(name)}?version=${version}` : one(name),
        ),
    };
  }

  /** createMCPServerFromYAML creates an MCP server from a Higress YAML definition as it is. */
  createMCPServerFromYAML(yaml: string): Promise<MCPServer> {
    return this.request('POST', '/mcp-servers', {
      raw: { contentType: 'application/yaml', text: yaml },
    });
  }

  /** updateMCPServerFromYAML replaces an MCP server with a YAML definition (its `version` checked when given). */
  updateMCPServerFromYAML(name: string, yaml: string): Promise<MCPServer> {
    return this.request('PUT', `/mcp-servers/${encodeURIComponent(name)}`, {
      raw: { contentType: 'application/yaml', text: yaml },
    });
  }

  /**
   * importOpenAPI turns an OpenAPI 3 document (JSON or YAML) into an MCP
   * server definition to review; nothing is stored.
   */
  importOpenAPI(name: string, baseURL: string, document: string): Promise<MCPServer> {
    const params = new URLSearchParams({ name });
    if (baseURL !== '') params.set('baseURL', baseURL);
    const json = document.trimStart().startsWith('{');
    return this.request('POST', `/mcp-servers/import/openapi?${params.toString()}`, {
      raw: { contentType: json ? 'application/json' : 'application/yaml', text: document },
    });
  }

  /** mcpTools lists the tools clients of an enabled MCP server see. */
  mcpTools(server: string, signal?: AbortSignal): Promise<ListResponse<ToolInfo>> {
    return this.request('GET', `/mcp-servers/${encodeURIComponent(server)}/tools`, { signal });
  }

  /** renderTool returns the upstream request a call would send, without sending it. */
  renderTool(
    server: string,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<RenderedRequest> {
    return this.request('POST', `${toolPath(server, tool)}/render`, { body: { arguments: args } });
  }

  /** callTool runs a tool as an MCP client's tools/call would. */
  callTool(server: string, tool: string, args: Record<string, unknown>): Promise<ToolResult> {
    return this.request('POST', `${toolPath(server, tool)}/call`, { body: { arguments: args } });
  }

  /**
   * testLLMProvider calls a stored provider once — listing its models, or a
   * one-token chat with `model` — and says in plain words what went wrong.
   * A failed test is an answer (ok false), not an error.
   */
  testLLMProvider(name: string, model?: string): Promise<ProviderTestResult> {
    return this.request('POST', `/llm-providers/${encodeURIComponent(name)}/test`, {
      body: model ? { model } : {},
    });
  }

  /** aiUsage sums the AI traffic of the last hour or day: tokens, time to first token, errors. */
  aiUsage(window: UsageWindow, signal?: AbortSignal): Promise<AIUsage> {
    return this.request('GET', `/ai/usage?window=${window}`, { signal });
  }

  redisSettings(signal?: AbortSignal): Promise<RedisSettingsView> {
    return this.request('GET', '/settings/redis', { signal });
  }

  /** saveRedisSettings validates, stores and applies the settings without a restart. */
  saveRedisSettings(req: RedisSettingsRequest): Promise<RedisSettingsView> {
    return this.request('PUT', '/settings/redis', { body: req });
  }

  /** testRedisSettings diagnoses a connection with the settings, storing nothing. */
  testRedisSettings(req: RedisSettingsRequest): Promise<RedisDiagnosis> {
    return this.request('POST', '/settings/redis/test', { body: req });
  }

  revisions(query: RevisionQuery = {}, signal?: AbortSignal): Promise<ListResponse<Revision>> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.offset !== undefined) params.set('offset', String(query.offset));
    const s = params.toString();
    return this.request('GET', s === '' ? '/revisions' : `/revisions?${s}`, { signal });
  }

  /** rollback restores the object of a revision to what it was before it. */
  rollback(id: number): Promise<RollbackResult> {
    return this.request('POST', `/revisions/${id}/rollback`);
  }

  authStatus(signal?: AbortSignal): Promise<AuthStatus> {
    return this.request('GET', '/auth/status', { signal, public: true });
  }

  /** initAdmin creates the first administrator; 409 "already_initialized" afterwards. */
  initAdmin(credentials: Credentials): Promise<InitResponse> {
    return this.request('POST', '/auth/init', { body: credentials, public: true });
  }

  /** login starts a session (the server sets an httpOnly cookie). */
  login(credentials: Credentials): Promise<LoginResponse> {
    return this.request('POST', '/auth/login', { body: credentials, public: true });
  }

  logout(): Promise<void> {
    return this.request('POST', '/auth/logout', { public: true });
  }

  me(signal?: AbortSignal): Promise<CurrentUser> {
    return this.request('GET', '/auth/me', { signal });
  }

  changePassword(req: ChangePasswordRequest): Promise<void> {
    return this.request('PUT', '/users/me/password', { body: req });
  }

  /** health returns the detailed health, also when the server answers 503 with it. */
  /** tokens lists every API token (never their secrets). */
  tokens(signal?: AbortSignal): Promise<ListResponse<APIToken>> {
    return this.request('GET', '/tokens', { signal });
  }

  /**
   * createToken creates an API token; the answer holds the secret, shown
   * this once. A token session gets 403 "session_required".
   */
  createToken(req: CreateTokenRequest): Promise<CreatedToken> {
    return this.request('POST', '/tokens', { body: req });
  }

  /** deleteToken revokes an API token at once. */
  deleteToken(id: number): Promise<void> {
    return this.request('DELETE', `/tokens/${id}`);
  }

  /** revokeAllTokens revokes every API token at once and returns how many there were. */
  revokeAllTokens(): Promise<{ revoked: number }> {
    return this.request('DELETE', '/tokens');
  }

  /** metricSeries returns the last hour of traffic samples, oldest first. */
  metricSeries(signal?: AbortSignal): Promise<MetricSeries> {
    return this.request('GET', '/metrics/series', { signal });
  }

  /** mcpStatus reports an enabled MCP server's sessions and last error. */
  mcpStatus(name: string, signal?: AbortSignal): Promise<MCPStatus> {
    return this.request('GET', `/mcp-servers/${encodeURIComponent(name)}/status`, { signal });
  }

  health(signal?: AbortSignal): Promise<Health> {
    return this.request('GET', '/health', {
      signal,
      accept: { statuses: [503], is: isHealth },
    });
  }

  plugins(signal?: AbortSignal): Promise<ListResponse<Plugin>> {
    return this.request('GET', '/plugins', { signal });
  }

  updatePlugin(name: string, req: UpdatePluginRequest): Promise<Plugin> {
    return this.request('PUT', `/plugins/${encodeURIComponent(name)}`, { body: req });
  }

  gatewayLogs(query: LogQuery, signal?: AbortSignal): Promise<ListResponse<LogEntry>> {
    return this.request('GET', `/logs/gateway${queryString(query)}`, { signal });
  }

  /**
   * followGatewayLogs streams new gateway.log lines matching the filter until
   * the server ends the stream (it resolves) or `signal` aborts (it resolves
   * too). It rejects with ApiError when the stream cannot be opened or the
   * connection breaks; callers decide whether to reconnect.
   */
  async followGatewayLogs(
    query: Omit<LogQuery, 'lines'>,
    handlers: LogStreamHandlers,
    signal: AbortSignal,
  ): Promise<void> {
    const url = `${this.baseUrl}/logs/gateway/stream${queryString(query)}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { Accept: 'text/event-stream' },
        credentials: 'same-origin',
        cache: 'no-store',
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      throw networkError(err);
    }
    if (!res.ok) {
      throw await this.failure(res, false);
    }
    if (res.body === null) {
      throw new ApiError({
        status: res.status,
        code: clientErrorCodes.badResponse,
        message: 'The log stream answered without a body.',
      });
    }
    handlers.onOpen?.();

    const parser = new SSEParser((event) => {
      if (event.event !== 'message') return;
      const entry = parseLogEntry(event.data);
      if (entry) handlers.onEntry(entry);
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.push(value);
      }
    } catch (err) {
      if (signal.aborted) return;
      throw networkError(err);
    } finally {
      reader.releaseLock();
    }
  }

  private async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const init: RequestInit = { method, headers, credentials: 'same-origin', signal: opts.signal };
    if (opts.raw !== undefined) {
      headers['Content-Type'] = opts.raw.contentType;
      init.body = opts.raw.text;
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }

    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, init);
    } catch (err) {
      // Cancellation is not a failure: let TanStack Query see the AbortError.
      if (opts.signal?.aborted) throw err;
      throw networkError(err);
    }

    if (!res.ok) {
      if (opts.accept?.statuses.includes(res.status)) {
        const body: unknown = await res
          .clone()
          .json()
          .catch(() => undefined);
        if (opts.accept.is(body)) return body as T;
      }
      throw await this.failure(res, opts.public ?? false);
    }
    if (res.status === 204) {
      return undefined as T;
    }
    const text = await res.text();
    if (text === '') {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({
        status: res.status,
        code: clientErrorCodes.badResponse,
        message: `The server answered ${method} ${path} with something that is not JSON (HTTP ${res.status}). Is a proxy in front of Gatehouse rewriting responses?`,
        requestId: res.headers.get('X-Request-Id') ?? undefined,
      });
    }
  }

  private async failure(res: Response, isPublic: boolean): Promise<ApiError> {
    const err = await decodeError(res);
    if (res.status === 401 && !isPublic) {
      this.onUnauthorized?.();
    }
    return err;
  }
}

function usagePath(consumer: string): string {
  return `/consumers/${encodeURIComponent(consumer)}/usage`;
}

function toolPath(server: string, tool: string): string {
  return `/mcp-servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool)}`;
}

function queryString(query: LogQuery): string {
  const params = new URLSearchParams();
  if (query.lines !== undefined) params.set('lines', String(query.lines));
  if (query.level) params.set('level', query.level);
  if (query.q) params.set('q', query.q);
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

function networkError(err: unknown): ApiError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ApiError({
    status: 0,
    code: clientErrorCodes.network,
    message: `Could not reach the Gatehouse API (${reason}). Check that Gatehouse is running and that this page is served by its console listener.`,
  });
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

async function decodeError(res: Response): Promise<ApiError> {
  const retryAfterSeconds = parseRetryAfter(res.headers.get('Retry-After'));
  const requestId = res.headers.get('X-Request-Id') ?? undefined;
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) {
    return new ApiError({
      status: res.status,
      code: body.error.code,
      message: body.error.message,
      details: (body.error.details ?? []).filter(isDetail),
      retryAfterSeconds,
      requestId,
    });
  }
  return new ApiError({
    status: res.status,
    code: `http_${res.status}`,
    message: `The server answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} without an error description.`,
    retryAfterSeconds,
    requestId,
  });
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = v.error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

function isDetail(v: unknown): v is ApiErrorDetail {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { field?: unknown }).field === 'string' &&
    typeof (v as { message?: unknown }).message === 'string'
  );
}

function isHealth(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { status?: unknown }).status === 'string' &&
    Array.isArray((v as { components?: unknown }).components)
  );
}

function parseLogEntry(data: string): LogEntry | undefined {
  try {
    const v = JSON.parse(data) as Partial<LogEntry>;
    if (typeof v.text !== 'string') return undefined;
    const entry: LogEntry = { text: v.text };
    if (typeof v.level === 'string') entry.level = v.level;
    if (typeof v.time === 'string') entry.time = v.time;
    return entry;
  } catch {
    // A line that is not JSON is still a log line worth showing.
    return { text: data };
  }
}
