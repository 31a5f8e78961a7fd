#!/usr/bin/env bash
# What ai-token-ratelimit adds to an AI request: the same non-streamed chat
# through two routes of one Gatehouse, side by side in each round:
#   plain    ai-proxy to the provider stand-in (tests/llmstandin)
#   limited  ai-token-ratelimit (one Redis round trip to reserve, one to
#            settle) in front of the same ai-proxy, with a limit that never
#            refuses, counted in a redis-server started here
# at a fixed rate (closed-loop latency, not peak); prints p50/p90/p99 of
# both and the p99 the check adds.
#
# Usage: scripts/bench/ai/ratelimit.sh        (from the repository root)
# Knobs: DURATION=10s ROUNDS=3 RATE=500 PROXY_CPUS=1 LOAD_CPUS=0 BASE_PORT=18281
set -euo pipefail
cd "$(dirname "$0")/../../.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-500}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BASE_PORT=${BASE_PORT:-18281}
STANDIN_PORT=$BASE_PORT
GATEHOUSE_PORT=$((BASE_PORT + 1))
CONSOLE_PORT=$((BASE_PORT + 2))
REDIS_PORT=$((BASE_PORT + 3))

command -v taskset >/dev/null || { echo "ratelimit.sh: taskset (util-linux) is needed to pin CPUs" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "ratelimit.sh: redis-server is needed (apt-get install redis-server)" >&2; exit 1; }

# shellcheck source=lib.sh
source scripts/bench/ai/lib.sh

if [[ ! -x build/gatehouse || ! -f build/plugins/ai-token-ratelimit.so ]]; then
	echo "building gatehouse (make host plugins)..." >&2
	make -s host plugins >&2
fi
build_tools

provider='{"id":"standin","type":"openai","apiTokens":["sk-bench-provider"],"endpoint":"http://127.0.0.1:'$STANDIN_PORT'"}'
limit='{"rule_name":"bench","rule_items":[{"limit_by_per_ip":"","limit_keys":[{"key":"0.0.0.0/0","token_per_minute":1000000000000}]}]}'
cat >"$work/gatehouse.yaml" <<YAML
services:
  - {name: unused, endpoints: [{url: "http://127.0.0.1:$STANDIN_PORT"}]}
routes:
  - {name: plain, path: {type: prefix, value: /plain/}, service: unused}
  - {name: limited, path: {type: prefix, value: /limited/}, service: unused}
pluginInstances:
  - name: ai-plain
    plugin: ai-proxy
    scope: {type: route, value: plain}
    config: {"provider": $provider, "routeName": "plain"}
  - name: ai-limited
    plugin: ai-proxy
    scope: {type: route, value: limited}
    config: {"provider": $provider, "routeName": "limited"}
  - name: tokens
    plugin: ai-token-ratelimit
    scope: {type: route, value: limited}
    config: $limit
YAML

start_redis
start_standin
start_gatehouse GATEHOUSE_REDIS_ADDR="127.0.0.1:$REDIS_PORT"
wait_ready "$REDIS_PORT" "$STANDIN_PORT" "$GATEHOUSE_PORT"

chat='{"model":"gpt-4o","max_tokens":256,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello from the benchmark, how are you today"}]}'
load() { # load ROUTE ARGS...
	local r=$1
	shift
	taskset -c "$LOAD_CPUS" "$work/aiload" -url "http://127.0.0.1:$GATEHOUSE_PORT/$r/v1/chat/completions" -body "$chat" "$@"
}
for r in plain limited; do
	check "$r (first requests)" "$(load "$r" -conns 4 -duration 1s)"
done
echo "warming up..." >&2
for r in plain limited; do load "$r" -conns 64 -rate "$RATE" -duration 2s >/dev/null; done

out="$work/fixed"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS at $RATE req/s: plain, limited ($DURATION each)..." >&2
	for r in plain limited; do
		line=$(load "$r" -conns 64 -rate "$RATE" -duration "$DURATION")
		check "$r" "$line"
		echo "$r $line" >>"$out"
	done
done
keys=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'gatehouse:ai-token-ratelimit:*' | wc -l)
[[ $keys -gt 0 ]] || { echo "ratelimit.sh: nothing was counted in Redis; is the token limit running?" >&2; tail -20 "$work/gatehouse.out" >&2; exit 1; }

echo
echo "ai-token-ratelimit overhead: $ROUNDS rounds (median), $DURATION per run at $RATE req/s; gateway CPUs '$PROXY_CPUS', aiload/stand-in/redis CPUs '$LOAD_CPUS'"
machine
echo
printf "| %-8s | %8s | %8s | %8s | %8s | %6s |\n" route "req/s" "p50 ms" "p90 ms" "p99 ms" errors
printf "|----------|---------:|---------:|---------:|---------:|-------:|\n"
for r in plain limited; do
	awk -v t="$r" -v rps="$(median_of "$r" 2 "$out")" -v p50="$(median_of "$r" 3 "$out")" -v p90="$(median_of "$r" 4 "$out")" \
		-v p99="$(median_of "$r" 5 "$out")" -v e="$(median_of "$r" 7 "$out")" \
		'BEGIN { printf "| %-8s | %8.0f | %8.3f | %8.3f | %8.3f | %6d |\n", t, rps, p50, p90, p99, e }'
done
awk -v a="$(median_of limited 5 "$out")" -v b="$(median_of plain 5 "$out")" -v c="$(median_of limited 3 "$out")" -v d="$(median_of plain 3 "$out")" \
	'BEGIN { printf "\nthe token-limit check adds %.3f ms at p99 (%.3f ms at p50); budget 0.3 ms at p99\n", a - b, c - d }'
