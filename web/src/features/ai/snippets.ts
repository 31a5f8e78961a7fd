/** Ready-to-paste client configurations for one AI route. */
export interface AISnippets {
  curl: string;
  openaiPython: string;
  openaiNode: string;
  anthropic: string;
  claudeCode: string;
  codex: string;
}

/** The placeholder snippets use for the consumer key. */
export const keyPlaceholder = 'YOUR_CONSUMER_KEY';

/**
 * aiBaseURL is the base URL of an AI route on the gateway: the origin plus
 * the path prefix, without a trailing slash ("http://gw:8080/llm").
 */
export function aiBaseURL(origin: string, pathPrefix: string): string {
  return origin.replace(/\/+$/, '') + pathPrefix.replace(/\/+$/, '');
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** shellQuote quotes a string for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * aiSnippets writes the client configurations for a route at `base` (see
 * aiBaseURL) asking for `model`. OpenAI clients take the base with /v1;
 * Anthropic clients and Claude Code take it without, as they add /v1
 * themselves.
 */
export function aiSnippets(base: string, model: string): AISnippets {
  const v1 = `${base}/v1`;
  const body = JSON.stringify({
    model,
    stream: true,
    messages: [{ role: 'user', content: 'Hello!' }],
  });
  return {
    curl: [
      `curl -N ${shellQuote(`${v1}/chat/completions`)} \\`,
      `  -H 'Authorization: Bearer ${keyPlaceholder}' \\`,
      `  -H 'Content-Type: application/json' \\`,
      `  -d ${shellQuote(body)}`,
    ].join('\n'),
    openaiPython: [
      'from openai import OpenAI',
      '',
      `client = OpenAI(base_url=${q(v1)}, api_key=${q(keyPlaceholder)})`,
      'stream = client.chat.completions.create(',
      `    model=${q(model)},`,
      '    messages=[{"role": "user", "content": "Hello!"}],',
      '    stream=True,',
      ')',
      'for chunk in stream:',
      '    if chunk.choices:',
      '        print(chunk.choices[0].delta.content or "", end="")',
    ].join('\n'),
    openaiNode: [
      "import OpenAI from 'openai';",
      '',
      `const client = new OpenAI({ baseURL: ${q(v1)}, apiKey: ${q(keyPlaceholder)} });`,
      'const stream = await client.chat.completions.create({',
      `  model: ${q(model)},`,
      "  messages: [{ role: 'user', content: 'Hello!' }],",
      '  stream: true,',
      '});',
      'for await (const chunk of stream) {',
      "  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');",
      '}',
    ].join('\n'),
    anthropic: [
      'import anthropic',
      '',
      `client = anthropic.Anthropic(base_url=${q(base)}, api_key=${q(keyPlaceholder)})`,
      'message = client.messages.create(',
      `    model=${q(model)},`,
      '    max_tokens=1024,',
      '    messages=[{"role": "user", "content": "Hello!"}],',
      ')',
      'print(message.content[0].text)',
    ].join('\n'),
    claudeCode: [
      `export ANTHROPIC_BASE_URL=${shellQuote(base)}`,
      `export ANTHROPIC_AUTH_TOKEN=${shellQuote(keyPlaceholder)}`,
      `export ANTHROPIC_MODEL=${shellQuote(model)}`,
      'claude',
    ].join('\n'),
    codex: [
      `export OPENAI_BASE_URL=${shellQuote(v1)}`,
      `export OPENAI_API_KEY=${shellQuote(keyPlaceholder)}`,
      `codex --model ${shellQuote(model)}`,
    ].join('\n'),
  };
}
