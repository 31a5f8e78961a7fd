package main

import "encoding/json"

var configSchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "ai-cache",
  "description": "Higress's ai-cache, exact match: answers to repeated LLM questions from the gateway's Redis, replayed in the client's protocol.",
  "type": "object",
  "required": ["cache"],
  "additionalProperties": false,
  "properties": {
    "cache": {
      "type": "object",
      "required": ["type"],
      "additionalProperties": false,
      "description": "Where answers are kept: the gateway's Redis (Settings → Redis).",
      "properties": {
        "type": {"const": "redis", "description": "Only redis."},
        "cacheTTL": {"type": "integer", "minimum": 0, "maximum": 31536000, "default": 0, "description": "Seconds an answer is kept; 0 keeps it until Redis evicts it."},
        "cacheKeyPrefix": {"type": "string", "maxLength": 128, "pattern": "^[^\\s]*$", "default": "higress-ai-cache:", "description": "Prefix of every key; instances with the same prefix share answers."},
        "timeout": {"type": "integer", "minimum": 0, "maximum": 30000, "default": 1000, "description": "Milliseconds one Redis call may take before the cache is bypassed (0: the default, 1000)."}
      }
    },
    "cacheKeyStrategy": {"enum": ["lastQuestion", "allQuestions", "disabled"], "default": "lastQuestion", "description": "What the key is made of, with the model: the text at cacheKeyFrom (lastQuestion), every user message (allQuestions), or nothing: the cache is off (disabled)."},
    "cacheKeyFrom": {"type": "string", "default": "messages.@reverse.0.content", "description": "GJSON path of the question in the request body (lastQuestion)."},
    "cacheValueFrom": {"type": "string", "default": "choices.0.message.content", "description": "GJSON path of the text to keep in an answer, in OpenAI's form (Anthropic answers are translated first)."},
    "cacheStreamValueFrom": {"type": "string", "default": "choices.0.delta.content", "description": "GJSON path of the text in each chunk of a streamed answer, in OpenAI's form."},
    "enableSemanticCache": {"const": false, "description": "Only false: exact match only."},
    "cacheKeyByConsumer": {"type": "boolean", "default": true, "description": "Gatehouse extension: one cache per consumer (the consumer is part of the key), so one consumer's answers never reach another. false shares answers between consumers, as Higress does; the key ignores the system prompt, so share only where consumers may see each other's answers."},
    "hitsCountUsage": {"type": "boolean", "default": false, "description": "Gatehouse extension: a hit reports the original answer's token usage to the plugins before ai-cache (token limits, budgets) as if the provider had answered."}
  }
}`)
