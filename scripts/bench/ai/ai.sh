#!/usr/bin/env bash
# AI gateway benchmark: non-streamed and streamed chat completions against
# the provider stand-in (tests/llmstandin), side by side in one run:
#   direct     the stand-in itself
#   gatehouse  the real binary, an ai-proxy route (Higress config) to the stand-in
#   portkey    Portkey's open-source gateway (@portkey-ai/gateway from npm,
#              scripts/bench/ai/portkey), x-portkey-provider: openai with
#              x-portkey-custom-host pointing at the same stand-in
# The load generator is scripts/bench/ai/aiload (Go), the same for all.
# What the ai-token-ratelimit check adds: scripts/bench/ai/ratelimit.sh.
#
# Prints: peak req/s at CONNS clients; latency at a fixed rate of half
# Gatehouse's peak and what each gateway adds to the direct p99; streamed
# time to first token (first SSE event) at a fixed rate and what each adds
# at p99; Gatehouse's CPU per request for OpenAI pass-through vs an
# Anthropic client translated to the OpenAI provider; resident memory per
# in-flight stream (HOLD streams open at once). Portkey is measured on the
# non-streamed runs only (its streamed answers fail on Node 20, see below).
#
# MODE=cache runs only the AI cache benchmark instead (needs redis-server):
# an ai-cache hit (the answer replayed from Redis, never reaching the
# stand-in) against a plain route to a static backend, in the same run,
# both through the real binary; it prints both peaks and their ratio.
#
# Usage: scripts/bench/ai/ai.sh            (from the repository root)
#        MODE=cache scripts/bench/ai/ai.sh
# Knobs (environment): DURATION=10s CONNS=32 ROUNDS=3 HOLD=1000
#   STREAM_RATE=200  requests/s of the streamed runs
#   PROXY_CPUS=1  CPUs (taskset list) of the gateway under test (Gatehouse
#                 GOMAXPROCS = their number; Portkey is one Node process)
#   LOAD_CPUS=0   CPUs of aiload and the stand-in
#   BASE_PORT=18181  stand-in; +1 Gatehouse; +2 its console; +3 Portkey
set -euo pipefail
cd "$(dirname "$0")/../../.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
HOLD=${HOLD:-1000}
STREAM_RATE=${STREAM_RATE:-200}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BASE_PORT=${BASE_PORT:-18181}
STANDIN_PORT=$BASE_PORT
GATEHOUSE_PORT=$((BASE_PORT + 1))
CONSOLE_PORT=$((BASE_PORT + 2))
PORTKEY_PORT=$((BASE_PORT + 3))

command -v taskset >/dev/null || { echo "ai.sh: taskset (util-linux) is needed to pin CPUs" >&2; exit 1; }
if [[ ${MODE:-} == cache ]]; then exec scripts/bench/ai/cache.sh; fi
command -v npm >/dev/null || { echo "ai.sh: npm is needed to install Portkey's gateway (install Node.js 20+)" >&2; exit 1; }

# shellcheck source=lib.sh
source scripts/bench/ai/lib.sh

echo "building gatehouse (make host plugins), the stand-in and the load generator..." >&2
make -s host plugins >&2
build_tools
portkey_dir=scripts/bench/ai/portkey
if [[ ! -f $portkey_dir/node_modules/.package-lock.json || $portkey_dir/package-lock.json -nt $portkey_dir/node_modules/.package-lock.json ]]; then
	echo "installing Portkey's gateway (npm ci in $portkey_dir)..." >&2
	(cd "$portkey_dir" && npm ci --no-audit --no-fund >&2)
fi
portkey_version=$(node -p "require('./$portkey_dir/node_modules/@portkey-ai/gateway/package.json').version")

provider='{"id":"standin","type":"openai","apiTokens":["sk-bench-provider"],"endpoint":"http://127.0.0.1:'$STANDIN_PORT'"}'
cat >"$work/gatehouse.yaml" <<YAML
services:
  - {name: unused, endpoints: [{url: "http://127.0.0.1:$STANDIN_PORT"}]}
routes:
  - {name: bench, path: {type: prefix, value: /}, service: unused}
pluginInstances:
  - name: ai-bench
    plugin: ai-proxy
    scope: {type: route, value: bench}
    config: {"provider": $provider, "routeName": "bench"}
YAML

start_standin
start_gatehouse
NODE_ENV=production taskset -c "$PROXY_CPUS" node "$portkey_dir/node_modules/@portkey-ai/gateway/build/start-server.js" \
	--port="$PORTKEY_PORT" --headless >"$work/portkey.out" 2>&1 &
pids+=($!)

wait_ready "$STANDIN_PORT" "$GATEHOUSE_PORT" "$PORTKEY_PORT"

chat='{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello from the benchmark, how are you today"}]}'
stream_chat='{"model":"gpt-4o+words=20","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello from the benchmark"}]}'
anthropic='{"model":"gpt-4o","max_tokens":256,"system":"be brief","messages":[{"role":"user","content":"hello from the benchmark, how are you today"}]}'
hold_chat='{"model":"gpt-4o+words=600+chunk-delay=1s","stream":true,"messages":[{"role":"user","content":"hold this stream open"}]}'

# target_args NAME: sets TARGET_ARGS to the URL and headers of a target.
target_args() {
	case $1 in
	direct) TARGET_ARGS=(-url "http://127.0.0.1:$STANDIN_PORT/v1/chat/completions" -H "Authorization: Bearer sk-bench-provider") ;;
	gatehouse) TARGET_ARGS=(-url "http://127.0.0.1:$GATEHOUSE_PORT/v1/chat/completions") ;;
	portkey) TARGET_ARGS=(-url "http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions" -H "Authorization: Bearer sk-bench-provider"
		-H "x-portkey-provider: openai" -H "x-portkey-custom-host: http://127.0.0.1:$STANDIN_PORT/v1") ;;
	esac
}
# load NAME BODY ARGS...: one aiload run against NAME.
load() {
	local name=$1 body=$2
	shift 2
	target_args "$name"
	taskset -c "$LOAD_CPUS" "$work/aiload" "${TARGET_ARGS[@]}" -body "$body" "$@"
}


for t in direct gatehouse portkey; do
	line=$(load "$t" "$chat" -conns 4 -duration 1s)
	check "$t (first requests)" "$line" 6
done
# Memory first, while Gatehouse's heap is at its idle size: HOLD streams
# open at once (each answers one word a second), resident memory before
# and while they are open.
echo "holding $HOLD streams on Gatehouse..." >&2
hold_gh=$(load gatehouse "$hold_chat" -stream -hold "$HOLD" -pid "$gatehouse_pid" -duration 5s)

echo "warming up..." >&2
for t in direct gatehouse portkey; do load "$t" "$chat" -conns "$CONNS" -duration 2s >/dev/null; done

peak="$work/peak"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS peak, $CONNS clients: direct, gatehouse, portkey ($DURATION each)..." >&2
	for t in direct gatehouse portkey; do
		line=$(load "$t" "$chat" -conns "$CONNS" -duration "$DURATION")
		check "$t" "$line" 6
		echo "$t $line" >>"$peak"
	done
done

half=$(awk -v r="$(median_of gatehouse 2 "$peak")" 'BEGIN { printf "%d", r / 2 }')
fixed="$work/fixed"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS at $half req/s (half of Gatehouse's peak): direct, gatehouse, portkey ($DURATION each)..." >&2
	for t in direct gatehouse portkey; do
		echo "$t $(load "$t" "$chat" -conns 256 -rate "$half" -duration "$DURATION")" >>"$fixed"
	done
done

# Portkey is left out of the streamed runs: @portkey-ai/gateway 1.15.2 on
# Node 20 answers every streamed request {"status":"failure"} ("TypeError:
# immutable" in its log, Portkey-AI/gateway#1389).
streamed="$work/streamed"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS streamed at $STREAM_RATE req/s: direct, gatehouse ($DURATION each)..." >&2
	for t in direct gatehouse; do
		line=$(load "$t" "$stream_chat" -stream -conns 256 -rate "$STREAM_RATE" -duration "$DURATION")
		check "$t streamed" "$line" 6
		echo "$t $line" >>"$streamed"
	done
done

# Gatehouse's CPU (user+system ticks of its process) per request, at half
# its peak: OpenAI client to the OpenAI provider (pass-through), then an
# Anthropic client (/v1/messages) translated to the same provider.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
cpu="$work/cpu"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS CPU per request: pass-through, translated ($DURATION each)..." >&2
	for kind in passthrough translated; do
		before=$(cpu_ticks "$gatehouse_pid")
		if [[ $kind == passthrough ]]; then
			line=$(load gatehouse "$chat" -conns 256 -rate "$half" -duration "$DURATION")
		else
			line=$(taskset -c "$LOAD_CPUS" "$work/aiload" -url "http://127.0.0.1:$GATEHOUSE_PORT/v1/messages" \
				-H "anthropic-version: 2023-06-01" -body "$anthropic" -conns 256 -rate "$half" -duration "$DURATION")
		fi
		check "gatehouse $kind" "$line" 6
		after=$(cpu_ticks "$gatehouse_pid")
		n=$(awk -v r="$(awk '{ print $1 }' <<<"$line")" -v d="${DURATION%s}" 'BEGIN { printf "%d", r * d }')
		awk -v k="$kind" -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%s %.1f\n", k, t / hz * 1e6 / n }' >>"$cpu"
	done
done


echo
echo "AI gateway benchmark: $ROUNDS rounds (median), $DURATION per run; gateway CPUs '$PROXY_CPUS' (Gatehouse GOMAXPROCS=$ncpu, Portkey one Node process), aiload/stand-in CPUs '$LOAD_CPUS'"
echo "Gatehouse $(build/gatehouse version 2>/dev/null | head -1), ai-proxy route (Higress config), gateway access log off, ai-proxy's access line on; Portkey @portkey-ai/gateway $portkey_version (NODE_ENV=production, --headless)"
echo "node $(node --version), $(machine)"
echo
echo "Peak, non-streamed chat, $CONNS clients"
echo
printf "| %-10s | %8s | %8s | %8s | %12s |\n" target "req/s" "p50 ms" "p99 ms" "vs direct"
printf "|------------|---------:|---------:|---------:|-------------:|\n"
direct=$(median_of direct 2 "$peak")
for t in direct gatehouse portkey; do
	awk -v t="$t" -v rps="$(median_of "$t" 2 "$peak")" -v p50="$(median_of "$t" 3 "$peak")" -v p99="$(median_of "$t" 5 "$peak")" -v d="$direct" \
		'BEGIN { printf "| %-10s | %8.0f | %8.3f | %8.3f | %11.2fx |\n", t, rps, p50, p99, rps / d }'
done
awk -v g="$(median_of gatehouse 2 "$peak")" -v p="$(median_of portkey 2 "$peak")" 'BEGIN { printf "\nGatehouse / Portkey: %.2fx\n", g / p }'
echo
echo "Fixed rate, non-streamed chat: $half req/s (half of Gatehouse's peak)"
echo
printf "| %-10s | %8s | %8s | %8s | %8s | %6s | %12s |\n" target "req/s" "p50 ms" "p90 ms" "p99 ms" errors "added p99 ms"
printf "|------------|---------:|---------:|---------:|---------:|-------:|-------------:|\n"
d99=$(median_of direct 5 "$fixed")
for t in direct gatehouse portkey; do
	awk -v t="$t" -v rps="$(median_of "$t" 2 "$fixed")" -v p50="$(median_of "$t" 3 "$fixed")" -v p90="$(median_of "$t" 4 "$fixed")" \
		-v p99="$(median_of "$t" 5 "$fixed")" -v e="$(median_of "$t" 7 "$fixed")" -v d="$d99" \
		'BEGIN { printf "| %-10s | %8.0f | %8.3f | %8.3f | %8.3f | %6d | %12.3f |\n", t, rps, p50, p90, p99, e, p99 - d }'
done
echo
echo "Streamed chat (20-word answer, include_usage): $STREAM_RATE req/s; TTFT = time to the first SSE event (Portkey fails streamed answers on Node 20, see above)"
echo
printf "| %-10s | %12s | %12s | %14s | %8s |\n" target "TTFT p50 ms" "TTFT p99 ms" "added TTFT p99" "p99 ms"
printf "|------------|-------------:|-------------:|---------------:|---------:|\n"
dt=$(median_of direct 9 "$streamed")
for t in direct gatehouse; do
	awk -v t="$t" -v f50="$(median_of "$t" 8 "$streamed")" -v f99="$(median_of "$t" 9 "$streamed")" -v p99="$(median_of "$t" 5 "$streamed")" -v d="$dt" \
		'BEGIN { printf "| %-10s | %12.3f | %12.3f | %14.3f | %8.3f |\n", t, f50, f99, f99 - d, p99 }'
done
echo
pt=$(median_of passthrough 2 "$cpu")
tr=$(median_of translated 2 "$cpu")
awk -v p="$pt" -v t="$tr" 'BEGIN { printf "Gatehouse CPU per request at %s req/s: pass-through %.1f µs, Anthropic client → OpenAI provider %.1f µs (%+.0f%%)\n", "'"$half"'", p, t, (t / p - 1) * 100 }'
echo
echo "Memory per in-flight stream ($HOLD streams open, resident memory of the gateway process):"
awk '{ printf "  gatehouse: %d KB before, %d KB with %d streams: %.1f KB per stream\n", $2, $3, $1, $4 }' <<<"$hold_gh"
