// Command ai-cache is the Gatehouse plugin that answers a chat request
// from Redis when the same question was already answered: Higress's
// ai-cache with exact matching (no vector search), replayed in the
// client's protocol.
//
// Build it as a Go plugin:
//
//	CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o build/plugins/ai-cache.so ./plugins/ai-cache
//
// Config (Higress's fields; see docs/ai-cache.md):
//
//	{
//	  "cache": {"type": "redis", "cacheTTL": 3600, "cacheKeyPrefix": "higress-ai-cache:", "timeout": 1000},
//	  "cacheKeyStrategy": "lastQuestion",          // lastQuestion, allQuestions or disabled
//	  "cacheKeyFrom": "messages.@reverse.0.content", // GJSON path over the request body (lastQuestion)
//	  "cacheValueFrom": "choices.0.message.content",  // GJSON path over the answer, in OpenAI's form
//	  "cacheStreamValueFrom": "choices.0.delta.content", // the same over each chunk of a streamed answer
//	  "cacheKeyByConsumer": true,                   // EXT: one cache per consumer (default; false shares answers)
//	  "hitsCountUsage": false                       // EXT: a hit reports the stored usage to the plugins before it
//	}
//
// The cache lives in the gateway's Redis (Settings → Redis). A request of
// an OpenAI (/v1/chat/completions) or Anthropic (/v1/messages) client is
// looked up by cacheKeyPrefix + SHA-256 of its model, its consumer and the
// key strategy's text; a hit goes on through the chain with the answer
// (pluginapi.CachedAnswer) and is served where the provider would be
// called, once ai-proxy admitted the caller: as JSON or as SSE as the
// client asked, in the client's protocol; it never reaches the provider.
// A miss goes on to ai-proxy and its answer, when whole and successful,
// is stored. Redis failing bypasses the cache: requests are still served.
package main

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/server/pluginapi"
)

// pluginVersion is this plugin's own version.
const pluginVersion = "0.1.0"

// Plugin is the symbol the host looks up.
var Plugin pluginapi.Plugin = aiCachePlugin{}

type aiCachePlugin struct{}

// Info implements pluginapi.Plugin. ai-cache runs in the transform phase:
// after authentication, access checks and token limits (a hit must never
// serve a caller the route refuses), before ai-prompt-decorator (priority
// 10 is lower), so the key is the client's own question.
func (aiCachePlugin) Info() pluginapi.Info {
	return pluginapi.Info{
		Name:        "ai-cache",
		Version:     pluginVersion,
		ABIVersion:  pluginapi.ABIVersion,
		Phase:       pluginapi.PhaseTransform,
		Priority:    100,
		Description: "Answers repeated LLM questions from Redis (exact match on model and question), replayed as JSON or SSE in the client's protocol without calling the provider (Higress's ai-cache config).",
	}
}

// ConfigSchema implements pluginapi.Plugin.
func (aiCachePlugin) ConfigSchema() json.RawMessage { return configSchema }

// New implements pluginapi.Plugin.
func (aiCachePlugin) New(ctx context.Context, config json.RawMessage, host pluginapi.Host) (pluginapi.Instance, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newInstance(cfg, host), nil
}

// main is required of package main; a plugin's main never runs.
func main() {}

var _ pluginapi.Plugin = aiCachePlugin{}
