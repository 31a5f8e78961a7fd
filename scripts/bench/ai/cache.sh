#!/usr/bin/env bash
# AI cache benchmark (MODE=cache scripts/bench/ai/ai.sh): a cache hit
# (ai-cache answers a chat request from Redis; it never reaches the
# provider stand-in) against a plain route to a static backend, both
# through the real binary in the same run, same client, same CPUs.
#
# Prints the peak req/s and latency of each (median of ROUNDS) and the
# ratio hit / static (the target is >= 0.8).
#
# Knobs (environment): DURATION=10s CONNS=32 ROUNDS=3
#   PROXY_CPUS=1  CPUs of Gatehouse (GOMAXPROCS = their number)
#   LOAD_CPUS=0   CPUs of aiload, the backend, redis-server and the stand-in
#   BASE_PORT=18181  stand-in; +1 Gatehouse; +2 its console; +4 redis; +5 backend
set -euo pipefail
cd "$(dirname "$0")/../../.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BASE_PORT=${BASE_PORT:-18181}
STANDIN_PORT=$BASE_PORT
GATEHOUSE_PORT=$((BASE_PORT + 1))
CONSOLE_PORT=$((BASE_PORT + 2))
REDIS_PORT=$((BASE_PORT + 4))
BACKEND_PORT=$((BASE_PORT + 5))

command -v redis-server >/dev/null || { echo "cache.sh: redis-server is needed (apt-get install redis-server)" >&2; exit 1; }

# shellcheck source=lib.sh
source scripts/bench/ai/lib.sh

echo "building gatehouse (make host plugins), the stand-in, the backend and the load generator..." >&2
make -s host plugins >&2
build_tools
go build -o "$work/backend" ./scripts/bench/backend

chat='{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello from the benchmark, how are you today"}]}'
provider='{"id":"standin","type":"openai","apiTokens":["sk-bench-provider"],"endpoint":"http://127.0.0.1:'$STANDIN_PORT'"}'
cat >"$work/gatehouse.yaml" <<YAML
services:
  - {name: static, endpoints: [{url: "http://127.0.0.1:$BACKEND_PORT"}]}
routes:
  - {name: static, path: {type: prefix, value: /static}, service: static}
  - {name: cached, path: {type: prefix, value: /ai}, service: static}
pluginInstances:
  - name: cache
    plugin: ai-cache
    scope: {type: route, value: cached}
    config: {"cache": {"type": "redis"}}
  - name: ai
    plugin: ai-proxy
    scope: {type: route, value: cached}
    config: {"provider": $provider, "routeName": "cached"}
YAML

start_redis
start_standin
taskset -c "$LOAD_CPUS" "$work/backend" -addr "127.0.0.1:$BACKEND_PORT" -size 320 >"$work/backend.out" 2>&1 &
pids+=($!)
start_gatehouse GATEHOUSE_REDIS_ADDR="127.0.0.1:$REDIS_PORT"
wait_ready "$REDIS_PORT" "$STANDIN_PORT" "$BACKEND_PORT" "$GATEHOUSE_PORT"

# The first request is the miss that stores the answer; the second must hit.
hit_url="http://127.0.0.1:$GATEHOUSE_PORT/ai/v1/chat/completions"
for want in miss hit; do
	got=$(curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' -d "$chat" "$hit_url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-gatehouse-ai-cache" { print $2 }')
	[[ $got == "$want" ]] || { echo "cache.sh: expected a cache $want, got '$got'" >&2; cat "$work/gatehouse.out" >&2; exit 1; }
done

load() { # load NAME ARGS...
	local url=$hit_url
	[[ $1 == static ]] && url="http://127.0.0.1:$GATEHOUSE_PORT/static/v1/chat/completions"
	shift
	taskset -c "$LOAD_CPUS" "$work/aiload" -url "$url" -body "$chat" "$@"
}

echo "warming up..." >&2
for t in static hit; do load "$t" -conns "$CONNS" -duration 2s >/dev/null; done
peak="$work/peak"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS peak, $CONNS clients: static route, cache hit ($DURATION each)..." >&2
	for t in static hit; do
		line=$(load "$t" -conns "$CONNS" -duration "$DURATION")
		check "$t" "$line"
		echo "$t $line" >>"$peak"
	done
done

provider_calls=$(grep -c '"ai request"' "$work/gatehouse.out" || true)

echo
echo "AI cache benchmark: $ROUNDS rounds (median), $DURATION per run, $CONNS clients; Gatehouse CPUs '$PROXY_CPUS' (GOMAXPROCS=$ncpu), aiload/backend/redis/stand-in CPUs '$LOAD_CPUS'"
echo "Gatehouse $(build/gatehouse version 2>/dev/null | head -1), gateway access log off; $(redis-server --version | awk '{ print $3 }'), $(machine)"
echo
printf "| %-28s | %8s | %8s | %8s |\n" target "req/s" "p50 ms" "p99 ms"
printf "|------------------------------|---------:|---------:|---------:|\n"
for t in static hit; do
	name="static route (320 B backend)"
	[[ $t == hit ]] && name="ai-cache hit (Redis)"
	awk -v t="$name" -v rps="$(median_of "$t" 2 "$peak")" -v p50="$(median_of "$t" 3 "$peak")" -v p99="$(median_of "$t" 5 "$peak")" \
		'BEGIN { printf "| %-28s | %8.0f | %8.3f | %8.3f |\n", t, rps, p50, p99 }'
done
awk -v h="$(median_of hit 2 "$peak")" -v s="$(median_of static 2 "$peak")" 'BEGIN { printf "\ncache hit / static route: %.2fx (target >= 0.8x)\n", h / s }'
echo "provider calls (ai-proxy's access lines): $provider_calls — the priming miss only; every measured request was a hit"
