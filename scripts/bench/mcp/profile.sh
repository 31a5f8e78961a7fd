#!/usr/bin/env bash
# CPU profile of the gatehouse process serving tools/call under load, with
# Linux perf (the binary has no pprof endpoint; perf needs no change to it).
# It builds the host and the mcp-server plugin with symbols (make strips
# them) into a temporary directory, copies the other plugins from BUILD_DIR,
# starts the REST upstream, one gatehouse (GOMAXPROCS=1 on CPU 1, memory or
# Redis store) with mcp-openweather.yaml, drives it with 32 raw JSON-RPC
# clients and records 10 s of it (RATE=<calls/s>: at that fixed rate over the
# 32 clients instead of as fast as answers come — where a call pays its
# wake-ups alone):
#
#   BUILD_DIR=build [RATE=8000] scripts/bench/mcp/profile.sh [memory|redis] [OUT]
#   perf report -i OUT --children --sort symbol --stdio -g none | less
#
# OUT defaults to mcp-<store>.perf.data in the current directory. Ports
# BASE_PORT … BASE_PORT+3 (default 18401).
set -euo pipefail
store=${1:-memory}
out=$(realpath -m "${2:-mcp-$store.perf.data}")
cd "$(dirname "$0")/../../.."
BUILD_DIR=${BUILD_DIR:-build}
P=${BASE_PORT:-18401}
RATE=${RATE:-0}
[[ $RATE =~ ^[0-9]+$ ]] || { echo "profile.sh: RATE must be a whole number of calls per second (0: as fast as answers come), not '$RATE'" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile.sh: perf is needed (apt-get install linux-perf or linux-tools)" >&2; exit 1; }
[[ -f $BUILD_DIR/plugins/manifest.json ]] || { echo "profile.sh: run make host plugins first (BUILD_DIR=$BUILD_DIR)" >&2; exit 1; }
w=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT
echo "building gatehouse and mcp-server with symbols..." >&2
mkdir -p "$w/build/plugins" "$w/data"
cp "$BUILD_DIR"/plugins/*.so "$w/build/plugins/"
CGO_ENABLED=1 go build -trimpath -o "$w/build/gatehouse" ./server/cmd/gatehouse
CGO_ENABLED=1 go build -trimpath -buildmode=plugin -o "$w/build/plugins/mcp-server.so" ./plugins/mcp-server
"$w/build/gatehouse" plugins manifest --dir "$w/build/plugins" --required mcp-server >/dev/null
go build -o "$w/upstream" ./scripts/bench/mcp/upstream
go build -o "$w/toolcall" ./scripts/bench/mcp/toolcall
sed -e "s#http://api.openweathermap.org#http://127.0.0.1:$P#" -e 's#apiKey: ""#apiKey: "bench-key"#' \
	plugins/mcp-server/restmcp/testdata/higress/mcp-openweather.yaml >"$w/weather.yaml"
printf 'sessions:\n  max: 1000000\n  initializePerMinute: 100000000\n' >>"$w/weather.yaml"

taskset -c 0 "$w/upstream" -addr "127.0.0.1:$P" &
pids+=($!)
env=()
if [[ $store == redis ]]; then
	redis-server --port $((P + 3)) --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
	pids+=($!)
	env=("GATEHOUSE_REDIS_ADDR=127.0.0.1:$((P + 3))")
fi
env GATEHOUSE_GATEWAY_ADDR=127.0.0.1:$((P + 1)) GATEHOUSE_CONSOLE_ADDR=127.0.0.1:$((P + 2)) GATEHOUSE_DATA_DIR="$w/data" \
	GATEHOUSE_PLUGIN_DIR="$w/build/plugins" GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_INSTANCE_ID=profile "${env[@]}" \
	GOMAXPROCS=1 taskset -c 1 "$w/build/gatehouse" serve >"$w/gatehouse.log" 2>&1 &
gh=$!
pids+=("$gh")
console=http://127.0.0.1:$((P + 2))
for _ in $(seq 600); do curl -fs "$console/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -s -o /dev/null -X POST "$console/api/v1/auth/init" -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password-1"}'
tok=$(curl -fs -X POST "$console/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d '{"username":"bench","password":"bench-password-1"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
curl -fs -o /dev/null -X POST "$console/api/v1/mcp-servers" -H "Authorization: Bearer $tok" \
	-H 'Content-Type: application/yaml' --data-binary @"$w/weather.yaml"
url=http://127.0.0.1:$((P + 1))/mcp-servers/weather-server
for _ in $(seq 100); do
	taskset -c 0 "$w/toolcall" -mode raw -url "$url" -clients 1 -duration 100ms >/dev/null 2>&1 && break
	sleep 0.1
done
echo "warming up, then recording 10 s of $store under 32 clients (rate $RATE; 0: as fast as answers come)..." >&2
taskset -c 0 "$w/toolcall" -mode raw -url "$url" -clients 32 -duration 3s -rate "$RATE" >/dev/null
taskset -c 0 "$w/toolcall" -mode raw -url "$url" -clients 32 -duration 14s -rate "$RATE" >"$w/load.out" &
load=$!
sleep 2
perf record -F 1999 -g -p "$gh" -o "$out" -- sleep 10 2>/dev/null
wait "$load"
echo "load (calls/s p50 p90 p99 max errors calls, the clients' CPU µs per call): $(cat "$w/load.out")" >&2
echo "profile in $out" >&2
