package main

import "encoding/json"

// configSchema is the JSON Schema (draft 2020-12) of the config. The
// schema test checks that it accepts and refuses what parseConfig does.
var configSchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "ai-proxy",
  "description": "LLM providers behind OpenAI- and Anthropic-compatible endpoints. Higress's ai-proxy config plus Gatehouse's extensions (upstreams, modelPredicates, fallback, allowedConsumers, routeName, maxRequestBodyBytes).",
  "type": "object",
  "additionalProperties": false,
  "anyOf": [{"required": ["provider"]}, {"required": ["providers"]}],
  "not": {"required": ["provider", "providers"]},
  "properties": {
    "provider": {"$ref": "#/$defs/provider", "description": "The one provider (Higress)."},
    "providers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/provider", "required": ["type", "id"]}, "description": "Several providers, each with an id (Higress)."},
    "activeProviderId": {"type": "string", "description": "The provider that serves requests when no upstreams are given (Higress)."},
    "upstreams": {"type": "array", "items": {"$ref": "#/$defs/upstream"}, "description": "Gatehouse: the providers that serve requests, chosen per request by weight."},
    "modelPredicates": {
      "type": "array",
      "description": "Gatehouse: the route serves only requests whose model matches one predicate; others pass to the next AI route on the path.",
      "items": {
        "type": "object", "additionalProperties": false, "required": ["matchType", "matchValue"],
        "properties": {
          "matchType": {"enum": ["EQUAL", "PRE", "REGULAR"]},
          "matchValue": {"type": "string", "minLength": 1}
        }
      }
    },
    "fallback": {
      "type": "object", "additionalProperties": false,
      "description": "Gatehouse: the providers tried when one fails before the answer began.",
      "properties": {
        "enabled": {"type": "boolean"},
        "upstreams": {"type": "array", "items": {"$ref": "#/$defs/fallbackUpstream"}},
        "strategy": {"enum": ["SEQUENCE", "RANDOM"], "default": "SEQUENCE"},
        "onStatus": {"type": "array", "items": {"type": "string", "pattern": "^[1-5](xx|[0-9][0-9])$"}, "default": ["429", "5xx"]}
      },
      "if": {"properties": {"enabled": {"const": true}}, "required": ["enabled"]},
      "then": {"required": ["upstreams"], "properties": {"upstreams": {"minItems": 1}}}
    },
    "allowedConsumers": {"type": "array", "items": {"type": "string", "pattern": "\\S"}, "description": "Gatehouse: only these consumers (named by key-auth) may call; others get 403. Absent admits every consumer; an empty list admits nobody."},
    "routeName": {"type": "string", "description": "Gatehouse: the AI route's name in metrics and logs."},
    "maxRequestBodyBytes": {"type": "integer", "minimum": 1, "default": 33554432, "description": "Gatehouse: larger request bodies are refused with 413."}
  },
  "$defs": {
    "modelMapping": {
      "type": "object",
      "additionalProperties": {"type": "string"},
      "propertyNames": {"minLength": 1},
      "description": "Requested model → provider model: exact names, prefixes ending in *, * for every other model, ~regex keys; the value \"\" keeps the requested name."
    },
    "statusPatterns": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "provider": {
      "type": "object",
      "additionalProperties": false,
      "required": ["type"],
      "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"},
        "type": {"enum": ["openai", "deepseek", "qwen", "moonshot", "groq", "mistral", "openrouter", "together", "vllm", "ollama", "azure", "claude", "gemini", "generic"]},
        "apiTokens": {"type": "array", "uniqueItems": true, "items": {"type": "string", "pattern": "^[^\\x00-\\x20\\x7f]+$", "writeOnly": true}, "description": "The provider's API keys; one is used per request, round-robin."},
        "modelMapping": {"$ref": "#/$defs/modelMapping"},
        "protocol": {"enum": ["openai", "original"], "default": "openai"},
        "customSettings": {
          "type": "array",
          "items": {
            "type": "object", "additionalProperties": false, "required": ["name", "value"],
            "properties": {
              "name": {"type": "string", "minLength": 1},
              "value": {"type": ["string", "number", "boolean"]},
              "mode": {"enum": ["auto", "raw"], "default": "auto"},
              "overwrite": {"type": "boolean", "default": true}
            },
            "if": {"not": {"properties": {"mode": {"const": "raw"}}, "required": ["mode"]}},
            "then": {"properties": {"name": {"enum": ["max_tokens", "seed", "temperature", "top_k", "top_p"]}}}
          }
        },
        "subPath": {"type": "string", "pattern": "^/(.*[^/])?$"},
        "timeout": {"type": "integer", "minimum": 1, "default": 120000, "description": "Milliseconds to the provider's first byte, and between reads of a stream."},
        "openaiCustomUrl": {"type": "string"},
        "azureServiceUrl": {"type": "string"},
        "claudeVersion": {"type": "string", "default": "2023-06-01"},
        "qwenEnableCompatible": {"const": true},
        "ollamaServerHost": {"type": "string"},
        "ollamaServerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
        "endpoint": {"type": "string", "pattern": "^https?://", "description": "Gatehouse: the provider's base URL, such as http://127.0.0.1:9000 or https://proxy.example.com/openai/v1."},
        "failover": {
          "type": "object", "additionalProperties": false,
          "properties": {
            "enabled": {"type": "boolean"},
            "failureThreshold": {"type": "integer", "minimum": 0, "default": 3},
            "successThreshold": {"type": "integer", "minimum": 0, "default": 1},
            "healthCheckInterval": {"type": "integer", "minimum": 0, "default": 5000},
            "healthCheckTimeout": {"type": "integer", "minimum": 0, "default": 5000},
            "healthCheckModel": {"type": "string"},
            "cooldownDuration": {"type": "integer", "minimum": 0},
            "failoverOnStatus": {"$ref": "#/$defs/statusPatterns"}
          },
          "if": {"properties": {"enabled": {"const": true}}, "required": ["enabled"]},
          "then": {"anyOf": [{"required": ["healthCheckModel"], "properties": {"healthCheckModel": {"minLength": 1}}}, {"required": ["cooldownDuration"], "properties": {"cooldownDuration": {"minimum": 1}}}]}
        },
        "retryOnFailure": {
          "type": "object", "additionalProperties": false,
          "properties": {
            "enabled": {"type": "boolean"},
            "maxRetries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
            "retryTimeout": {"type": "integer", "minimum": 0, "default": 30000},
            "retryOnStatus": {"$ref": "#/$defs/statusPatterns"}
          }
        }
      },
      "allOf": [
        {"if": {"properties": {"type": {"const": "azure"}}, "required": ["type"]}, "then": {"anyOf": [{"required": ["azureServiceUrl"]}, {"required": ["endpoint"]}]}},
        {"if": {"properties": {"type": {"enum": ["vllm", "generic"]}}, "required": ["type"]}, "then": {"anyOf": [{"required": ["endpoint"]}, {"required": ["openaiCustomUrl"]}]}},
        {"if": {"properties": {"type": {"not": {"enum": ["vllm", "ollama", "generic"]}}}, "required": ["type"]}, "then": {"required": ["apiTokens"], "properties": {"apiTokens": {"minItems": 1}}}}
      ]
    },
    "upstream": {
      "type": "object", "additionalProperties": false, "required": ["provider"],
      "properties": {
        "provider": {"type": "string", "minLength": 1},
        "weight": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 100},
        "modelMapping": {"$ref": "#/$defs/modelMapping"}
      }
    },
    "fallbackUpstream": {
      "type": "object", "additionalProperties": false, "required": ["provider"],
      "properties": {
        "provider": {"type": "string", "minLength": 1},
        "modelMapping": {"$ref": "#/$defs/modelMapping"}
      }
    }
  }
}`)
