#!/usr/bin/env bash
# MCP benchmarks against the real gatehouse binary (issue 4, Performance),
# each measured in one run on one machine, on 127.0.0.1 only:
#
#   toolcall  tools/call of a REST-to-MCP tool (the Higress definition
#             mcp-openweather.yaml, get_weather) over Streamable HTTP with a
#             session per client, vs the same REST call made directly, CLIENTS
#             concurrent clients, interleaved rounds, medians; then the same
#             at a fixed rate (half of the MCP peak) for the added p99, with
#             how busy the load's CPUs and gatehouse's are at that rate. The Go
#             SDK alone serving the same tool (sdkfloor) is measured alongside,
#             and so is nginx (Debian's nginx-light) on gatehouse's CPUs as a
#             plain reverse proxy of the same REST call (nginx-hop): what one
#             proxy hop costs on this machine, in rate and in added p99.
#   sse       SESSIONS idle legacy HTTP+SSE sessions on one instance (on Redis):
#             memory per session of the gatehouse process (RSS, Go heap and
#             stacks), the clients being another process; a bare net/http
#             server holding the same streams (ssefloor) is measured first.
#   handoff   two instances on one Redis: legacy SSE stream on A, each
#             POST …/message sent to B, latency until the answer arrives on
#             A's stream (and the same posted to A, for reference).
#
# Usage: scripts/bench/mcp/mcp.sh [toolcall|sse|handoff ...]   (default: all three)
# (A CPU profile of gatehouse serving toolcall's load: scripts/bench/mcp/profile.sh.)
# Knobs (environment):
#   BUILD_DIR=      a directory with gatehouse and plugins/ from `make host plugins`;
#                   unset: build the working tree into a temporary directory
#   DURATION=8s ROUNDS=3 CLIENTS=32   toolcall: per run, rounds, concurrent clients
#   MODES="raw sdk" toolcall clients: raw JSON-RPC over HTTP, and the official Go
#                   SDK client (sdk is measured against the Redis instance only)
#   GATEHOUSE_CPUS=1 LOAD_CPUS=0      toolcall: CPUs (taskset lists) for gatehouse
#                   and its Redis / for the clients and the REST upstream
#   REDIS_CPUS=     toolcall: CPUs for Redis when it should not share gatehouse's
#                   (say 0: Redis as a host of its own would be); default GATEHOUSE_CPUS
#   GATEHOUSE_GATEWAY_ENGINE=fast  every gatehouse started here runs that gateway
#                   engine (inherited; default std)
#   SESSIONS=10000  sse: idle sessions; GC_WAIT=130 seconds to wait for the Go
#                   runtime's next collection (it forces one every 2 minutes)
#   SSE_STORES=redis  sse: "redis", "memory" or both (memory: no Redis configured)
#   MESSAGES=2000 HANDOFF_SESSIONS="1 16"  handoff: round trips of each kind per
#                   session, and the numbers of sessions measured at once
#   BASELINE_DIR=  toolcall: another build directory (say, of main) measured in the
#                   same run as base-memory / base-redis, for before → after ratios
#   FIXED_RATE=<n> toolcall: the fixed-rate phase's calls/s instead of half of the
#                   Redis peak (a rate the load's CPUs can carry; see the busy columns)
#   BASE_PORT=18301 ports BASE_PORT … BASE_PORT+17 (never 8080/8001/6379)
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
# shellcheck source=../nginx.sh
source scripts/bench/nginx.sh
# shellcheck source=../measure.sh
source scripts/bench/measure.sh

DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-32}
MODES=${MODES:-raw sdk}
GATEHOUSE_CPUS=${GATEHOUSE_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
REDIS_CPUS=${REDIS_CPUS:-$GATEHOUSE_CPUS}
SESSIONS=${SESSIONS:-10000}
GC_WAIT=${GC_WAIT:-130}
SSE_STORES=${SSE_STORES:-redis}
MESSAGES=${MESSAGES:-2000}
HANDOFF_SESSIONS=${HANDOFF_SESSIONS:-1 16}
BASE_PORT=${BASE_PORT:-18301}
if [[ -n ${FIXED_RATE:-} && ! ${FIXED_RATE} =~ ^[1-9][0-9]*$ ]]; then
	echo "mcp.sh: FIXED_RATE=$FIXED_RATE: give calls per second as a whole number (say 3000), or leave it unset for half of the Redis peak" >&2
	exit 2
fi
UPSTREAM_PORT=$BASE_PORT
REDIS_PORT=$((BASE_PORT + 1))
# gatehouse instances: gateway port, console port = gateway + 1
MEM_PORT=$((BASE_PORT + 2))
RED_PORT=$((BASE_PORT + 4))
A_PORT=$((BASE_PORT + 6))
B_PORT=$((BASE_PORT + 8))
SSE_PORT=$((BASE_PORT + 10)) # and the reference server of the sse benchmark, before gatehouse starts
SDK_PORT=$((BASE_PORT + 12))  # the reference server of the toolcall benchmark
BASE_MEM_PORT=$((BASE_PORT + 13)) # BASELINE_DIR's instances
BASE_RED_PORT=$((BASE_PORT + 15))
NGINX_PORT=$((BASE_PORT + 17)) # nginx-hop, the toolcall benchmark's reference proxy
BASELINE_DIR=${BASELINE_DIR:-}
ADMIN_USER=bench
ADMIN_PASS=bench-password-1
SERVER=weather-server # server.name in mcp-openweather.yaml
DEFINITION=${DEFINITION:-$root/plugins/mcp-server/restmcp/testdata/higress/mcp-openweather.yaml}

benches=("$@")
((${#benches[@]})) || benches=(toolcall sse handoff)
for b in "${benches[@]}"; do
	case $b in toolcall | sse | handoff) ;; *)
		echo "mcp.sh: unknown benchmark $b (toolcall, sse, handoff)" >&2
		exit 2
		;;
	esac
done
command -v redis-server >/dev/null || { echo "mcp.sh: redis-server is needed: apt-get install redis-server (or make deps-test)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "mcp.sh: taskset (util-linux) is needed to pin CPUs" >&2; exit 1; }
if [[ " ${benches[*]} " == *" toolcall "* ]] && ! command -v nginx >/dev/null; then
	echo "mcp.sh: nginx missing (toolcall's reference proxy, nginx-hop); installing nginx-light from Debian with apt-get" >&2
	[[ $(id -u) -eq 0 ]] || { echo "mcp.sh: not root; run: sudo apt-get install -y nginx-light" >&2; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
fi
[[ -f $DEFINITION ]] || { echo "mcp.sh: $DEFINITION not found: set DEFINITION to mcp-openweather.yaml from the Higress test definitions" >&2; exit 1; }
for p in $(seq "$BASE_PORT" $((BASE_PORT + 17))); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "mcp.sh: port $p is taken; set BASE_PORT to a free range of 18 ports" >&2
		exit 1
	fi
done

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${BUILD_DIR:-} ]]; then
	echo "building gatehouse and its plugins (make host plugins) into $work/build..." >&2
	make -s host plugins BUILD_DIR="$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
	BUILD_DIR=$work/build
fi
for d in "$BUILD_DIR" ${BASELINE_DIR:+"$BASELINE_DIR"}; do
	[[ -x $d/gatehouse && -f $d/plugins/manifest.json ]] || { echo "mcp.sh: $d has no gatehouse and plugins/manifest.json: run make host plugins" >&2; exit 1; }
done
echo "building the benchmark programs..." >&2
for p in upstream toolcall sseidle ssefloor sdkfloor handoff; do go build -o "$work/$p" "./scripts/bench/mcp/$p"; done
sed -e "s#http://api.openweathermap.org#http://127.0.0.1:$UPSTREAM_PORT#" -e 's#apiKey: ""#apiKey: "bench-key"#' "$DEFINITION" >"$work/weather.yaml"
grep -q "127.0.0.1:$UPSTREAM_PORT" "$work/weather.yaml" || { echo "mcp.sh: $DEFINITION no longer points at api.openweathermap.org" >&2; exit 1; }
# The benchmarks open many sessions from one address: lift the session
# limits (5000 per instance, 120 new per minute per address by default).
printf 'sessions:\n  max: 1000000\n  initializePerMinute: 100000000\n' >>"$work/weather.yaml"

wait_port() {
	for _ in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "mcp.sh: nothing listens on port $1" >&2
	exit 1
}

# start CPUS CMD...: start a background process (pinned when CPUS is set); its pid is in $last.
start() {
	local cpus=$1
	shift
	if [[ -n $cpus ]]; then taskset -c "$cpus" "$@" & else "$@" & fi
	last=$!
	pids+=("$last")
}

redis_started=
start_redis() {
	[[ -n $redis_started ]] && return
	start "${1:-}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning \
		--logfile "$work/redis.log"
	redis_pid=$last
	wait_port "$REDIS_PORT"
	redis_started=1
}

upstream_started=
start_upstream() {
	[[ -n $upstream_started ]] && return
	start "${1:-}" "$work/upstream" -addr "127.0.0.1:$UPSTREAM_PORT"
	upstream_pid=$last
	wait_port "$UPSTREAM_PORT"
	upstream_started=1
}

# start_nginx CPUS: nginx (as proxy.sh runs it) proxying the REST upstream on
# NGINX_PORT, one worker per CPU; its CPU time is its master's and workers'.
start_nginx() {
	local n=1
	[[ -n ${1:-} ]] && n=$(taskset -c "$1" nproc)
	nginx_conf "$work/nginx" "$NGINX_PORT" "$UPSTREAM_PORT" "$n"
	start "${1:-}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;'
	nginx_pid=$last
	wait_port "$NGINX_PORT"
}

# start_gatehouse NAME GATEWAY_PORT CPUS [ENV=VALUE...]: pid in $last; the build
# in $gh_build (default BUILD_DIR).
start_gatehouse() {
	local name=$1 port=$2 cpus=$3 build=${gh_build:-$BUILD_DIR}
	shift 3
	mkdir -p "$work/$name"
	local -a env=(
		"GATEHOUSE_GATEWAY_ADDR=127.0.0.1:$port" "GATEHOUSE_CONSOLE_ADDR=127.0.0.1:$((port + 1))"
		"GATEHOUSE_DATA_DIR=$work/$name" "GATEHOUSE_PLUGIN_DIR=$build/plugins" "GATEHOUSE_LOG_LEVEL=warn"
		"GATEHOUSE_INSTANCE_ID=$name" "$@")
	if [[ -n $cpus ]]; then
		env "${env[@]}" GOMAXPROCS="$(taskset -c "$cpus" nproc)" taskset -c "$cpus" "$build/gatehouse" serve >"$work/$name.log" 2>&1 &
	else
		env "${env[@]}" "$build/gatehouse" serve >"$work/$name.log" 2>&1 &
	fi
	last=$!
	pids+=("$last")
	for _ in $(seq 600); do
		if curl -fs "http://127.0.0.1:$((port + 1))/readyz" >/dev/null 2>&1 && kill -0 "$last" 2>/dev/null; then return 0; fi
		kill -0 "$last" 2>/dev/null || { echo "mcp.sh: gatehouse $name exited:" >&2; tail -20 "$work/$name.log" >&2; exit 1; }
		sleep 0.05
	done
	echo "mcp.sh: gatehouse $name not ready after 30s" >&2
	tail -20 "$work/$name.log" >&2
	exit 1
}

# stop PID...: end processes this script started, and wait for them.
stop() {
	local pid
	for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
	for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# login CONSOLE_PORT: prints an admin token (creates the administrator when none exists).
login() {
	curl -s -o /dev/null -X POST "http://127.0.0.1:$1/api/v1/auth/init" -H 'Content-Type: application/json' \
		-d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
	curl -fs -X POST "http://127.0.0.1:$1/api/v1/auth/login" -H 'Content-Type: application/json' \
		-d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# create_server CONSOLE_PORT TOKEN: the Higress YAML as-is, pointed at the upstream.
create_server() {
	local code
	code=$(curl -s -o "$work/create.out" -w '%{http_code}' -X POST "http://127.0.0.1:$1/api/v1/mcp-servers" \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/yaml' --data-binary @"$work/weather.yaml")
	[[ $code == 201 ]] || { echo "mcp.sh: create the MCP server: $code $(cat "$work/create.out")" >&2; exit 1; }
}

# wait_serves GATEWAY_PORT: until the MCP endpoint answers (a POST without a session is refused by the server).
wait_serves() {
	for _ in $(seq 500); do
		if curl -s -X POST "http://127.0.0.1:$1/mcp-servers/$SERVER" -H 'Content-Type: application/json' \
			-H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' | grep -q Mcp-Session-Id; then
			return 0
		fi
		sleep 0.02
	done
	echo "mcp.sh: gateway :$1 does not serve /mcp-servers/$SERVER" >&2
	exit 1
}

# metric CONSOLE_PORT TOKEN NAME [MATCH]: the sum of a metric's samples (lines containing MATCH).
metric() {
	curl -fs -H "Authorization: Bearer $2" "http://127.0.0.1:$1/metrics" |
		awk -v n="$3" -v m="${4:-}" 'index($0, n) == 1 && (substr($0, length(n) + 1, 1) ~ /[ {]/) && index($0, m) { s += $NF } END { printf "%.0f\n", s }'
}

# redis_transactions: the MULTI … EXEC transactions the benchmark's Redis has run.
redis_transactions() { redis-cli -p "$REDIS_PORT" info commandstats | awk -F'[:=,]' '$1 == "cmdstat_exec" { n = $3 } END { print n + 0 }'; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

conditions() {
	echo "$(go version | cut -d' ' -f3), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

ticks_per_s=$(getconf CLK_TCK)

bench_toolcall() {
	start_upstream "$LOAD_CPUS"
	start_redis "$REDIS_CPUS"
	start_gatehouse mem "$MEM_PORT" "$GATEHOUSE_CPUS"
	local mem_pid=$last
	start_gatehouse red "$RED_PORT" "$GATEHOUSE_CPUS" "GATEHOUSE_REDIS_ADDR=127.0.0.1:$REDIS_PORT"
	local red_pid=$last
	local base_mem_pid= base_red_pid=
	if [[ -n $BASELINE_DIR ]]; then
		gh_build=$BASELINE_DIR start_gatehouse base-mem "$BASE_MEM_PORT" "$GATEHOUSE_CPUS"
		base_mem_pid=$last
		gh_build=$BASELINE_DIR start_gatehouse base-red "$BASE_RED_PORT" "$GATEHOUSE_CPUS" "GATEHOUSE_REDIS_ADDR=127.0.0.1:$REDIS_PORT"
		base_red_pid=$last
	fi
	start "$GATEHOUSE_CPUS" env GOMAXPROCS="$(taskset -c "$GATEHOUSE_CPUS" nproc)" "$work/sdkfloor" -addr "127.0.0.1:$SDK_PORT" \
		-upstream "http://127.0.0.1:$UPSTREAM_PORT/data/2.5/weather" -api-key bench-key
	local sdk_pid=$last
	wait_port "$SDK_PORT"
	start_nginx "$GATEHOUSE_CPUS"
	local tok_mem tok_red
	tok_mem=$(login $((MEM_PORT + 1)))
	tok_red=$(login $((RED_PORT + 1)))
	create_server $((MEM_PORT + 1)) "$tok_mem"
	create_server $((RED_PORT + 1)) "$tok_red"
	wait_serves "$MEM_PORT"
	wait_serves "$RED_PORT"
	if [[ -n $BASELINE_DIR ]]; then
		local tok
		for p in "$BASE_MEM_PORT" "$BASE_RED_PORT"; do
			tok=$(login $((p + 1)))
			create_server $((p + 1)) "$tok"
			wait_serves "$p"
		done
	fi

	local rest="http://127.0.0.1:$UPSTREAM_PORT/data/2.5/weather?city=Paris&units=metric&lang=zh_cn"
	# target lines: NAME PID MODE URL
	local -a targets=("direct $upstream_pid direct $rest" "sdk-floor $sdk_pid raw http://127.0.0.1:$SDK_PORT/mcp"
		"nginx-hop $nginx_pid direct ${rest/:$UPSTREAM_PORT/:$NGINX_PORT}")
	local -a fixed_targets=("${targets[@]}")
	local m
	for m in $MODES; do
		if [[ $m == raw ]]; then
			targets+=("mcp-memory $mem_pid raw http://127.0.0.1:$MEM_PORT/mcp-servers/$SERVER")
			fixed_targets+=("mcp-memory $mem_pid raw http://127.0.0.1:$MEM_PORT/mcp-servers/$SERVER")
			if [[ -n $BASELINE_DIR ]]; then
				targets+=("base-memory $base_mem_pid raw http://127.0.0.1:$BASE_MEM_PORT/mcp-servers/$SERVER")
				fixed_targets+=("base-memory $base_mem_pid raw http://127.0.0.1:$BASE_MEM_PORT/mcp-servers/$SERVER")
			fi
		fi
		targets+=("$m-redis $red_pid $m http://127.0.0.1:$RED_PORT/mcp-servers/$SERVER")
		[[ $m == raw ]] && fixed_targets+=("raw-redis $red_pid raw http://127.0.0.1:$RED_PORT/mcp-servers/$SERVER")
		if [[ $m == raw && -n $BASELINE_DIR ]]; then
			targets+=("base-redis $base_red_pid raw http://127.0.0.1:$BASE_RED_PORT/mcp-servers/$SERVER")
			fixed_targets+=("base-redis $base_red_pid raw http://127.0.0.1:$BASE_RED_PORT/mcp-servers/$SERVER")
		fi
	done
	[[ " $MODES " == *" raw "* ]] || fixed_targets+=("${targets[-1]}")

	# one NAME PID MODE URL [RATE]: prints "NAME rps p50 p90 p99 max errors calls cpu_us_per_call
	# redis_cpu_us_per_call calls_per_transaction load_us_per_call upstream_us_per_call" (Redis's two
	# "-" for a target without Redis; load: the toolcall clients' own CPU time per call).
	one() {
		local name=$1 pid=$2 mode=$3 url=$4 rate=${5:-0} line c0 c1 r0=0 r1=0 x0=0 x1=0 u0 u1
		c0=$(cpu_ticks "$pid")
		u0=$(cpu_ticks "$upstream_pid")
		if [[ $name == *redis ]]; then r0=$(cpu_ticks "$redis_pid"); x0=$(redis_transactions); fi
		line=$(taskset -c "$LOAD_CPUS" "$work/toolcall" -mode "$mode" -url "$url" -header 'x-api-key: bench-key' \
			-clients "$CLIENTS" -duration "$DURATION" -rate "$rate" 2>>"$work/toolcall.err") || {
			echo "mcp.sh: toolcall $name failed:" >&2
			cat "$work/toolcall.err" >&2
			exit 1
		}
		c1=$(cpu_ticks "$pid")
		u1=$(cpu_ticks "$upstream_pid")
		if [[ $name == *redis ]]; then r1=$(cpu_ticks "$redis_pid"); x1=$(redis_transactions); fi
		if [[ $(awk '{ print $6 }' <<<"$line") != 0 ]]; then
			echo "mcp.sh: $name had errors: $line" >&2
			cat "$work/toolcall.err" >&2
			exit 1
		fi
		awk -v name="$name" -v dt="$((c1 - c0))" -v rdt="$((r1 - r0))" -v tx="$((x1 - x0))" -v udt="$((u1 - u0))" -v hz="$ticks_per_s" \
			'{ printf "%s %s %s %s %s %s %s %s %.0f", name, $1, $2, $3, $4, $5, $6, $7, dt / hz * 1e6 / $7
			   if (tx > 0) printf " %.0f %.1f", rdt / hz * 1e6 / $7, $7 / tx; else printf " - -"
			   printf " %.0f %.0f\n", $8, udt / hz * 1e6 / $7 }' <<<"$line"
	}

	echo "toolcall: warming up..." >&2
	local t
	for t in "${targets[@]}"; do
		set -- $t
		taskset -c "$LOAD_CPUS" "$work/toolcall" -mode "$3" -url "$4" -header 'x-api-key: bench-key' -clients "$CLIENTS" -duration 2s >/dev/null
	done
	local peak=$work/peak fixed=$work/fixed round
	: >"$peak"
	: >"$fixed"
	for round in $(seq "$ROUNDS"); do
		echo "toolcall: round $round/$ROUNDS, peak, $CLIENTS clients, $DURATION each: ${targets[*]%% *}..." >&2
		for t in "${targets[@]}"; do one $t >>"$peak"; done
	done
	local ref=raw-redis
	[[ " $MODES " == *" raw "* ]] || ref=${targets[-1]%% *}
	local half rate_what="half of $ref's peak"
	half=$(awk -v r="$(median_of "$ref" 2 "$peak")" 'BEGIN { printf "%d", r / 2 }')
	if [[ -n ${FIXED_RATE:-} ]]; then
		half=$FIXED_RATE rate_what="FIXED_RATE; $ref's peak $(median_of "$ref" 2 "$peak")"
	fi
	for round in $(seq "$ROUNDS"); do
		echo "toolcall: round $round/$ROUNDS at $half calls/s ($rate_what), $DURATION each..." >&2
		for t in "${fixed_targets[@]}"; do one $t "$half" >>"$fixed"; done
	done

	echo
	echo "## toolcall: tools/call over Streamable HTTP vs the REST call made directly"
	echo
	echo "Peak: $CLIENTS clients, each with its connection (and MCP session), next call when the answer came; $ROUNDS interleaved rounds of $DURATION, medians"
	echo "gatehouse on CPUs '$GATEHOUSE_CPUS' (GOMAXPROCS=$(taskset -c "$GATEHOUSE_CPUS" nproc)), its Redis on CPUs '$REDIS_CPUS', clients and REST upstream on CPUs '$LOAD_CPUS'"
	conditions
	echo
	printf "| %-10s | %8s | %8s | %8s | %9s | %9s | %9s | %6s | %12s | %14s | %12s |\n" target "calls/s" "p50 ms" "p99 ms" "vs direct" "vs nginx" "vs SDK" errors "CPU µs/call" "Redis µs/call" "calls per tx"
	printf "|------------|---------:|---------:|---------:|----------:|----------:|----------:|-------:|-------------:|---------------:|-------------:|\n"
	local direct_rps sdk_rps nginx_rps
	direct_rps=$(median_of direct 2 "$peak")
	sdk_rps=$(median_of sdk-floor 2 "$peak")
	nginx_rps=$(median_of nginx-hop 2 "$peak")
	for t in "${targets[@]}"; do
		t=${t%% *}
		awk -v t="$t" -v rps="$(median_of "$t" 2 "$peak")" -v p50="$(median_of "$t" 3 "$peak")" -v p99="$(median_of "$t" 5 "$peak")" \
			-v e="$(awk -v t="$t" '$1 == t { s += $7 } END { print s + 0 }' "$peak")" -v cpu="$(median_of "$t" 9 "$peak")" -v d="$direct_rps" -v f="$sdk_rps" -v ng="$nginx_rps" \
			-v rcpu="$(median_of "$t" 10 "$peak")" -v tx="$(median_of "$t" 11 "$peak")" \
			'BEGIN { if (t !~ /redis$/) { rcpu = "—"; tx = "—" }
			         printf "| %-10s | %8.0f | %8.3f | %8.3f | %8.2fx | %8.2fx | %8.2fx | %6d | %12.0f | %14s | %12s |\n", t, rps, p50, p99, rps / d, rps / ng, rps / f, e, cpu, rcpu, tx }'
	done
	echo
	echo "Within each round (the machine's speed drifts from one minute to the next; ratios of targets run seconds apart"
	echo "drift less than the medians above): calls/s as a ratio of the same round's direct, and of the baseline's same target"
	echo
	awk -v base="${BASELINE_DIR:+1}" '
		$1 == "direct" { round++ }
		{ rate[$1, round] = $2; if (!seen[$1]++) names[++n] = $1 }
		function median(a, k,   i, j, x) {
			for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
			return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
		}
		END {
			printf "| %-11s | %-30s | %7s | %-30s | %7s |\n", "target", "vs direct, each round", "median", "vs baseline, each round", "median"
			printf "|-------------|--------------------------------|--------:|--------------------------------|--------:|\n"
			for (i = 2; i <= n; i++) {
				t = names[i]; b = t; sub(/^mcp-memory$/, "base-memory", b); sub(/^raw-redis$/, "base-redis", b)
				if (t ~ /^base-/) b = ""
				d = ""; v = ""; k = 0; kb = 0
				for (r = 1; r <= round; r++) {
					d = d sprintf("%.2f ", rate[t, r] / rate["direct", r]); x[++k] = rate[t, r] / rate["direct", r]
					if (base && b != t && b != "" && rate[b, r] > 0) { v = v sprintf("%.2f ", rate[t, r] / rate[b, r]); y[++kb] = rate[t, r] / rate[b, r] }
				}
				printf "| %-11s | %-30s | %6.2fx | %-30s | %7s |\n", t, d, median(x, k), (kb ? v : "—"), (kb ? sprintf("%.2fx", median(y, kb)) : "—")
			}
		}' "$peak"
	echo
	echo "direct = the REST upstream without MCP; sdk-floor = scripts/bench/mcp/sdkfloor, the Go SDK alone serving the same tool"
	echo "(same transport options, in-memory event store, no templates, no gateway); nginx-hop = the REST call through nginx"
	echo "on gatehouse's CPUs, a plain reverse proxy (one proxy hop, no MCP); mcp-memory = gatehouse without Redis;"
	echo "raw-redis / sdk-redis = gatehouse on Redis, with the raw JSON-RPC client / the official Go SDK client."
	[[ -n $BASELINE_DIR ]] && echo "base-memory / base-redis = the same with the build in BASELINE_DIR ($BASELINE_DIR)."
	echo "CPU µs/call: CPU time of the process serving the target (the upstream for direct) per call, from /proc/<pid>/stat."
	echo "vs nginx: calls/s as a ratio of nginx-hop's (an MCP call through gatehouse against a plain REST call through nginx)."
	echo "Redis µs/call: the Redis server's CPU time per call (it shares gatehouse's CPUs); calls per tx: calls per MULTI … EXEC"
	echo "transaction, from Redis's INFO commandstats (one per call when each answer is stored alone)."
	echo
	echo "Fixed rate: $half calls/s ($rate_what) spread over $CLIENTS clients, latency from each call's scheduled start; $ROUNDS rounds, medians"
	echo
	printf "| %-10s | %8s | %8s | %8s | %8s | %12s | %6s | %14s | %15s |\n" target "calls/s" "p50 ms" "p90 ms" "p99 ms" "added p99 ms" errors "load CPUs busy" "gatehouse's busy"
	printf "|------------|---------:|---------:|---------:|---------:|-------------:|-------:|---------------:|----------------:|\n"
	local d99 nload ngh
	d99=$(median_of direct 5 "$fixed")
	nload=$(taskset -c "$LOAD_CPUS" nproc)
	ngh=$(taskset -c "$GATEHOUSE_CPUS" nproc)
	for t in "${fixed_targets[@]}"; do
		t=${t%% *}
		# Busy: the CPU time per call of what runs there, times the rate (direct runs nothing on gatehouse's
		# CPUs; Redis counts there when it shares them).
		awk -v t="$t" -v rps="$(median_of "$t" 2 "$fixed")" -v p50="$(median_of "$t" 3 "$fixed")" -v p90="$(median_of "$t" 4 "$fixed")" \
			-v p99="$(median_of "$t" 5 "$fixed")" -v d="$d99" -v e="$(awk -v t="$t" '$1 == t { s += $7 } END { print s + 0 }' "$fixed")" \
			-v cpu="$(median_of "$t" 9 "$fixed")" -v rcpu="$(median_of "$t" 10 "$fixed")" -v gen="$(median_of "$t" 12 "$fixed")" \
			-v up="$(median_of "$t" 13 "$fixed")" -v nload="$nload" -v ngh="$ngh" -v shared="$([[ $REDIS_CPUS == "$GATEHOUSE_CPUS" ]] && echo 1 || echo 0)" \
			'BEGIN { lb = sprintf("%.0f %%", (gen + up) * rps / 1e4 / nload)
			         gb = (t == "direct") ? "–" : sprintf("%.0f %%", (cpu + (shared ? rcpu : 0)) * rps / 1e4 / ngh)
			         printf "| %-10s | %8.0f | %8.3f | %8.3f | %8.3f | %12.3f | %6d | %14s | %15s |\n", t, rps, p50, p90, p99, p99 - d, e, lb, gb }'
	done
	echo
	echo "load CPUs busy: the toolcall clients' and the REST upstream's CPU time per call, times the rate, over CPUs '$LOAD_CPUS';"
	echo "gatehouse's busy: the target's (and Redis's, when it shares them) over CPUs '$GATEHOUSE_CPUS'. A queue forms well below 100 %."
	echo
	echo "every run (name calls/s p50 p90 p99 max errors calls cpu-µs/call redis-cpu-µs/call calls-per-tx load-µs/call upstream-µs/call):"
	sed 's/^/  peak  /' "$peak"
	sed 's/^/  fixed /' "$fixed"
	stop "$mem_pid" "$red_pid" "$sdk_pid" "$nginx_pid" $base_mem_pid $base_red_pid
}

# measure_sse LABEL PID SSE_URL METRICS_URL TOKEN GC: open SESSIONS idle sessions on a server and
# record its memory before, when open, and after a garbage collection (GC=force: POST /gc on the
# reference server; GC=wait: wait up to GC_WAIT seconds for the runtime's next one).
measure_sse() {
	local label=$1 pid=$2 url=$3 murl=$4 tok=$5 gc=$6
	m() { curl -fs -H "Authorization: Bearer $tok" "$murl" | awk -v n="$1" -v f="${2:-}" \
		'index($0, n) == 1 && (substr($0, length(n) + 1, 1) ~ /[ {]/) && index($0, f) { s += $NF } END { printf "%.0f\n", s }'; }
	snapshot() {
		echo "$1 $(rss_kb "$pid") $(m go_memstats_heap_alloc_bytes) $(m go_memstats_heap_inuse_bytes) $(m go_memstats_stack_inuse_bytes)" \
			"$(m go_memstats_sys_bytes) $(m go_goroutines) $(m go_gc_duration_seconds_count)"
	}
	echo "sse ($label): warming up with 200 sessions..." >&2
	"$work/sseidle" -url "$url" -n 200 </dev/null >/dev/null
	sleep 2
	if [[ $gc == wait ]]; then
		# Gatehouse notices that a legacy SSE client went away when a
		# keep-alive comment (every 15 s) cannot be written: wait until the
		# warm-up sessions are released, so that "before" holds none.
		for _ in $(seq 90); do
			[[ $(m gatehouse_mcp_active_sessions 'transport="sse"') == 0 ]] && break
			sleep 1
		done
	fi
	[[ $gc == force ]] && curl -fs -X POST "${murl%/metrics}/gc"
	local key=${label//\//-}
	local snaps=$work/snaps-$key
	snapshot before >"$snaps"

	echo "sse ($label): opening $SESSIONS sessions (initialize + notifications/initialized each)..." >&2
	rm -f "$work/hold"
	mkfifo "$work/hold"
	"$work/sseidle" -url "$url" -n "$SESSIONS" <"$work/hold" >"$work/sseidle-$key.out" 2>&1 &
	local holder=$!
	pids+=("$holder")
	exec 7>"$work/hold" # the holder holds the sessions until this closes
	local ready=
	for _ in $(seq 1800); do
		ready=$(grep '^ready' "$work/sseidle-$key.out" || true)
		[[ -n $ready ]] && break
		kill -0 "$holder" 2>/dev/null || break
		sleep 0.1
	done
	[[ -n $ready ]] || { echo "mcp.sh: the SSE sessions did not open:" >&2; cat "$work/sseidle-$key.out" >&2; exit 1; }
	local active=n/a
	[[ $gc == wait ]] && active=$(m gatehouse_mcp_active_sessions 'transport="sse"')
	sleep 2
	snapshot open >>"$snaps"
	local gc0 waited=0
	gc0=$(awk '$1 == "open" { print $8 }' "$snaps")
	if [[ $gc == force ]]; then
		curl -fs -X POST "${murl%/metrics}/gc"
	else
		echo "sse ($label): $ready; waiting up to ${GC_WAIT}s for the runtime's next garbage collection..." >&2
		while ((waited < GC_WAIT)); do
			[[ $(m go_gc_duration_seconds_count) -gt $gc0 ]] && break
			sleep 1
			waited=$((waited + 1))
		done
		sleep 1
	fi
	snapshot after-gc >>"$snaps"
	exec 7>&-
	wait "$holder" || true
	local closed
	closed=$(grep '^closed' "$work/sseidle-$key.out" | cut -d' ' -f2)
	[[ $closed == 0 ]] || echo "mcp.sh: $label: ${closed:-?} streams ended before the end" >&2

	{
		echo
		echo "### $label"
		echo
		echo "$ready (sessions, seconds to open); active SSE sessions reported: $active; streams that ended early: ${closed:-?}"
		echo "GC: $(awk '$1 == "open" { o = $8 } $1 == "after-gc" { a = $8 } END { print a - o }' "$snaps") collection(s) between 'open' and 'after-gc' ($gc)"
		echo
		printf "| %-9s | %9s | %9s | %11s | %10s | %9s | %10s |\n" snapshot "RSS MB" "heap MB" "heap-use MB" "stacks MB" "sys MB" goroutines
		printf "|-----------|----------:|----------:|------------:|-----------:|----------:|-----------:|\n"
		awk '{ printf "| %-9s | %9.1f | %9.1f | %11.1f | %10.1f | %9.1f | %10d |\n", $1, $2 / 1024, $3 / 1048576, $4 / 1048576, $5 / 1048576, $6 / 1048576, $7 }' "$snaps"
	} >>"$work/sse-details"
	awk -v n="$SESSIONS" -v label="$label" '$1 == "before" { for (i = 2; i <= 7; i++) b[i] = $i; next }
		{ printf "%s %s %.1f %.1f %.1f %.1f %.1f %.2f\n", label, $1, ($2 - b[2]) / n, ($3 - b[3]) / n / 1024,
			($4 - b[4]) / n / 1024, ($5 - b[5]) / n / 1024, ($3 - b[3] + $5 - b[5]) / n / 1024, ($7 - b[7]) / n }' "$snaps" >>"$work/sse-summary"
}

bench_sse() {
	local hard
	hard=$(ulimit -Hn)
	if ((hard < SESSIONS + 1000)); then
		ulimit -Hn $((SESSIONS + 1000)) 2>/dev/null || {
			echo "mcp.sh: the open-file limit is $hard; $SESSIONS sessions need $((SESSIONS + 1000)): raise it (ulimit -Hn, or LimitNOFILE) or lower SESSIONS" >&2
			exit 1
		}
	fi
	ulimit -n "$(ulimit -Hn)"
	: >"$work/sse-summary"
	: >"$work/sse-details"
	local floor_port=$((BASE_PORT + 10))
	start "" "$work/ssefloor" -addr "127.0.0.1:$floor_port"
	local floor_pid=$last
	wait_port "$floor_port"
	measure_sse net/http "$floor_pid" "http://127.0.0.1:$floor_port/sse" "http://127.0.0.1:$floor_port/metrics" "" force
	stop "$floor_pid"

	local store
	for store in $SSE_STORES; do
		local -a extra=()
		if [[ $store == redis ]]; then
			start_redis ""
			extra=("GATEHOUSE_REDIS_ADDR=127.0.0.1:$REDIS_PORT")
		elif [[ $store != memory ]]; then
			echo "mcp.sh: SSE_STORES: $store is neither redis nor memory" >&2
			exit 2
		fi
		start_upstream ""
		start_gatehouse "sse-$store" "$SSE_PORT" "" "${extra[@]}"
		local pid=$last tok
		tok=$(login $((SSE_PORT + 1)))
		create_server $((SSE_PORT + 1)) "$tok"
		wait_serves "$SSE_PORT"
		measure_sse "gatehouse-$store" "$pid" "http://127.0.0.1:$SSE_PORT/mcp-servers/$SERVER/sse" \
			"http://127.0.0.1:$((SSE_PORT + 1))/metrics" "$tok" wait
		stop "$pid"
	done

	echo
	echo "## sse: $SESSIONS idle legacy SSE sessions on one instance, memory per session"
	echo
	echo "Each session: GET …/sse, endpoint event, initialize + notifications/initialized, then idle; the clients are another process."
	echo "net/http = scripts/bench/mcp/ssefloor, a bare net/http server holding the same streams (the floor); open-file limit $(ulimit -n)"
	conditions
	echo
	printf "| %-16s | %-9s | %8s | %8s | %11s | %9s | %12s | %10s |\n" target snapshot "RSS KB" "heap KB" "heap-use KB" "stacks KB" "heap+stk KB" goroutines
	printf "|------------------|-----------|---------:|---------:|------------:|----------:|-------------:|-----------:|\n"
	awk '{ printf "| %-16s | %-9s | %8.1f | %8.1f | %11.1f | %9.1f | %12.1f | %10.2f |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$work/sse-summary"
	echo
	echo "Per session = (snapshot - before) / $SESSIONS; KB = 1024 bytes. RSS from /proc/<pid>/status (VmRSS);"
	echo "heap = go_memstats_heap_alloc_bytes (live objects plus garbage not yet collected; after-gc: live), heap-use ="
	echo "go_memstats_heap_inuse_bytes, stacks = go_memstats_stack_inuse_bytes, from the process's /metrics."
	cat "$work/sse-details"
}

bench_handoff() {
	start_redis ""
	start_upstream ""
	local -a shared=("GATEHOUSE_REDIS_ADDR=127.0.0.1:$REDIS_PORT" "GATEHOUSE_DATABASE=$work/shared.db"
		"GATEHOUSE_JWT_SECRET=bench-secret-shared-by-both-instances-0123456789")
	start_gatehouse a "$A_PORT" "" "${shared[@]}"
	local a_pid=$last
	start_gatehouse b "$B_PORT" "" "${shared[@]}"
	local b_pid=$last
	local tok
	tok=$(login $((A_PORT + 1)))
	create_server $((A_PORT + 1)) "$tok"
	wait_serves "$A_PORT"
	wait_serves "$B_PORT"
	local out=$work/handoff.out s
	: >"$out"
	for s in $HANDOFF_SESSIONS; do
		echo "handoff: $s session(s) at once, $MESSAGES round trips of each kind per session..." >&2
		"$work/handoff" -sse "http://127.0.0.1:$A_PORT/mcp-servers/$SERVER/sse" -b "http://127.0.0.1:$B_PORT" \
			-n "$MESSAGES" -sessions "$s" | sed "s/^/$s /" >>"$out"
	done
	echo
	echo "## handoff: legacy SSE stream on A, POST …/message on B (Redis pub/sub), answer on A's stream"
	echo
	echo "ping requests, one at a time per session, cross (posted to B) and local (posted to A) alternating; latency from the POST to the answer's event on A"
	conditions
	echo
	printf "| %8s | %-5s | %7s | %8s | %8s | %8s | %8s | %6s |\n" sessions kind count "p50 ms" "p90 ms" "p99 ms" "max ms" errors
	printf "|---------:|-------|--------:|---------:|---------:|---------:|---------:|-------:|\n"
	awk '$2 != "duplicates" { printf "| %8s | %-5s | %7d | %8.3f | %8.3f | %8.3f | %8.3f | %6d |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$out"
	echo
	awk '$2 == "duplicates" { d += $3 } $2 != "duplicates" { e += $8 } END { printf "errors (lost, late or refused): %d, answers that arrived twice: %d\n", e, d }' "$out"
	echo "handoffs counted by A: $(metric $((A_PORT + 1)) "$tok" gatehouse_mcp_cross_instance_handoffs_total 'received'), by B: $(metric $((B_PORT + 1)) "$tok" gatehouse_mcp_cross_instance_handoffs_total 'sent')"
	stop "$a_pid" "$b_pid"
}

for b in "${benches[@]}"; do "bench_$b"; done
