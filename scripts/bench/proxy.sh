#!/usr/bin/env bash
# Proxy benchmark: the same backend measured directly, behind nginx (Debian's
# nginx-light as a reverse proxy with upstream keep-alive), behind a bare Go
# httputil.ReverseProxy (net/http's own cost, for reference), behind
# floorproxy (go-floor: the least a Go proxy with a goroutine per connection
# does per request — no HTTP objects, the bytes passed on) and behind the
# real `gatehouse` binary (build/gatehouse, configured with a generated
# GATEHOUSE_CONFIG_FILE of ROUTES routes), with wrk at 64 connections, in one run on one machine.
# Prints a table with requests/s, latency and the ratio to nginx (peak, wrk),
# with the CPU time each proxy (and the backend behind it) spent per request
# at the peak, from /proc: on one pinned CPU a proxy cheaper than the load
# generator and backend together is held to their rate, so the rate ratio
# alone can hide how much more CPU a proxy spends;
# then the latency of each at a fixed rate of half nginx's peak (loadgen,
# measured from each request's scheduled start) and what the proxy adds to
# the direct p99. A target with failed requests (wrk errors, non-2xx) is marked
# with ! in the tables; the run goes on.
#
# Usage: scripts/bench/proxy.sh            (from the repository root)
# Knobs (environment): DURATION=10s CONNS=64 THREADS=2 ROUNDS=3 SIZE=64
#   ROUTES=10000  routes in Gatehouse's table (the benchmarked route is the last)
#   PROXY_CPUS=1  CPUs (taskset list) for the proxy under test: nginx gets one
#                 worker per CPU, Gatehouse GOMAXPROCS = number of CPUs
#   LOAD_CPUS=0   CPUs for wrk and the backend
#   ACCESS_LOG=off  Gatehouse's access log (nginx runs with access_log off); on
#                 measures its cost
#   GATEHOUSE_PROCS=<n>  Gatehouse's GOMAXPROCS (default: the number of PROXY_CPUS)
#   ENGINES="std fast"  Gatehouse's gateway engines measured (GATEHOUSE_GATEWAY_ENGINE),
#                 each its own process: gatehouse-std, gatehouse-fast
#   PEERS="haproxy caddy"  other proxies from Debian measured too when installed
#                 (apt-get install haproxy caddy); same CPUs as nginx
#   BUILD=1       run `make host plugins` first; 0 uses build/ as it is
#   FIXED_RATE=<n>  the fixed-rate phase's requests/s instead of half of nginx's
#                 peak (which, pinned, can load the load CPU itself)
#   BASELINE=<dir>  another build (its gatehouse and plugins/, e.g. the parent
#                 commit's `make host plugins BUILD_DIR=<dir>`) measured in the
#                 same run on the same ENGINES: targets baseline-std, baseline-fast
#   BASE_PORT=18081  backend; +1 nginx; +2 Gatehouse std; +3 bare Go proxy;
#                    +4/+6 Gatehouse's consoles; +5 Gatehouse fast; +7 HAProxy;
#                    +8 Caddy; +9 go-floor; +10..+13 the baseline's std and
#                    fast gateways and consoles (never 8080/8001)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=nginx.sh
source scripts/bench/nginx.sh
# shellcheck source=measure.sh
source scripts/bench/measure.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-64}
ROUTES=${ROUTES:-10000}
ACCESS_LOG=${ACCESS_LOG:-off}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BASE_PORT=${BASE_PORT:-18081}
if [[ -n ${FIXED_RATE:-} && ! ${FIXED_RATE} =~ ^[1-9][0-9]*$ ]]; then
	echo "proxy.sh: FIXED_RATE=$FIXED_RATE: give requests per second as a whole number (say 10000), or leave it unset for half of nginx's peak" >&2
	exit 1
fi
BACKEND_PORT=$BASE_PORT
NGINX_PORT=$((BASE_PORT + 1))
GATEHOUSE_PORT=$((BASE_PORT + 2))
STOCK_PORT=$((BASE_PORT + 3))
FLOOR_PORT=$((BASE_PORT + 9))
CONSOLE_PORT=$((BASE_PORT + 4))
ENGINES=${ENGINES:-std fast}
PEERS=${PEERS:-haproxy caddy}
HAPROXY_PORT=$((BASE_PORT + 7))
CADDY_PORT=$((BASE_PORT + 8))

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
if ((${#missing[@]})); then
	echo "proxy.sh: ${missing[*]} missing; installing from Debian with apt-get (wrk is the load generator, nginx-light the reference proxy)" >&2
	if [[ $(id -u) -ne 0 ]]; then
		echo "proxy.sh: not root; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v taskset >/dev/null || { echo "proxy.sh: taskset (util-linux) is needed to pin CPUs" >&2; exit 1; }

work=$(mktemp -d)
pids=()
declare -A pid_of # target name → the process whose CPU time (with its children's) is the target's
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if [[ ${BUILD:-1} == 1 ]]; then
	echo "building gatehouse (make host plugins), the backend and the load generator..." >&2
	make -s host plugins >&2
fi
go build -o "$work/backend" ./scripts/bench/backend
go build -o "$work/stockproxy" ./scripts/bench/stockproxy
go build -o "$work/floorproxy" ./scripts/bench/floorproxy
go build -o "$work/loadgen" ./scripts/bench/loadgen

# Gatehouse's configuration: ROUTES-1 routes on other domains, then the
# benchmarked one (any host, prefix /), all to the backend.
{
	echo "services:"
	echo "  - name: backend"
	echo "    endpoints: [{url: \"http://127.0.0.1:$BACKEND_PORT\"}]"
	echo "routes:"
	for ((i = 1; i < ROUTES; i++)); do
		echo "  - {name: filler-$i, domains: [host$i.example.com], path: {type: prefix, value: /}, service: backend}"
	done
	echo "  - {name: bench, path: {type: prefix, value: /}, service: backend}"
} >"$work/gatehouse.yaml"

ncpu=$(taskset -c "$PROXY_CPUS" nproc)
nginx_conf "$work/nginx" "$NGINX_PORT" "$BACKEND_PORT" "$ncpu"

taskset -c "$LOAD_CPUS" "$work/backend" -addr "127.0.0.1:$BACKEND_PORT" -size "$SIZE" &
pids+=($!)
backend_pid=$!
taskset -c "$PROXY_CPUS" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
pid_of[nginx]=$!
# targets: "name port" of every proxy measured, nginx first.
targets=("direct $BACKEND_PORT" "nginx $NGINX_PORT" "go-stock $STOCK_PORT" "go-floor $FLOOR_PORT")
# start_gatehouse NAME BUILD_DIR ENGINE GATEWAY_PORT CONSOLE_PORT
start_gatehouse() {
	GOMAXPROCS=${GATEHOUSE_PROCS:-$ncpu} taskset -c "$PROXY_CPUS" env \
		GATEHOUSE_GATEWAY_ADDR="127.0.0.1:$4" GATEHOUSE_CONSOLE_ADDR="127.0.0.1:$5" \
		GATEHOUSE_DATA_DIR="$work/$1" GATEHOUSE_PLUGIN_DIR="$2/plugins" \
		GATEHOUSE_CONFIG_FILE="$work/gatehouse.yaml" GATEHOUSE_LOG_LEVEL=info GATEHOUSE_ACCESS_LOG="$ACCESS_LOG" \
		GATEHOUSE_GATEWAY_ENGINE="$3" "$2/gatehouse" serve >"$work/$1.out" 2>&1 &
	pids+=($!)
	pid_of[$1]=$!
	targets+=("$1 $4 $5")
}
if [[ -n ${BASELINE:-} && ! -x ${BASELINE:-}/gatehouse ]]; then
	echo "proxy.sh: BASELINE=$BASELINE has no gatehouse binary; build one with make host plugins BUILD_DIR=$BASELINE" >&2
	exit 1
fi
for engine in $ENGINES; do
	case $engine in
	std) gport=$GATEHOUSE_PORT cport=$CONSOLE_PORT bport=$((BASE_PORT + 10)) ;;
	fast) gport=$((BASE_PORT + 5)) cport=$((BASE_PORT + 6)) bport=$((BASE_PORT + 12)) ;;
	*) echo "proxy.sh: ENGINES: $engine is not an engine; use std and/or fast" >&2; exit 1 ;;
	esac
	start_gatehouse "gatehouse-$engine" "$PWD/build" "$engine" "$gport" "$cport"
	if [[ -n ${BASELINE:-} ]]; then
		start_gatehouse "baseline-$engine" "$(cd "$BASELINE" && pwd)" "$engine" "$bport" "$((bport + 1))"
	fi
done
for peer in $PEERS; do
	case $peer in
	haproxy)
		command -v haproxy >/dev/null || { echo "proxy.sh: haproxy not installed (apt-get install haproxy); skipped" >&2; continue; }
		cat >"$work/haproxy.cfg" <<CONF
global
    nbthread $ncpu
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:$BACKEND_PORT
CONF
		taskset -c "$PROXY_CPUS" haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.out" 2>&1 &
		pids+=($!)
		pid_of[haproxy]=$!
		targets+=("haproxy $HAPROXY_PORT")
		;;
	caddy)
		command -v caddy >/dev/null || { echo "proxy.sh: caddy not installed (apt-get install caddy); skipped" >&2; continue; }
		cat >"$work/Caddyfile" <<CONF
{
	admin off
	auto_https off
}
http://127.0.0.1:$CADDY_PORT {
	reverse_proxy 127.0.0.1:$BACKEND_PORT
}
CONF
		GOMAXPROCS=$ncpu XDG_DATA_HOME="$work/caddy" XDG_CONFIG_HOME="$work/caddy" taskset -c "$PROXY_CPUS" \
			caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.out" 2>&1 &
		pids+=($!)
		pid_of[caddy]=$!
		targets+=("caddy $CADDY_PORT")
		;;
	*) echo "proxy.sh: PEERS: $peer is not known; use haproxy and/or caddy" >&2; exit 1 ;;
	esac
done
GOMAXPROCS=$ncpu taskset -c "$PROXY_CPUS" "$work/stockproxy" -addr "127.0.0.1:$STOCK_PORT" \
	-upstream "http://127.0.0.1:$BACKEND_PORT" &
pids+=($!)
pid_of[go-stock]=$!
GOMAXPROCS=$ncpu taskset -c "$PROXY_CPUS" "$work/floorproxy" -addr "127.0.0.1:$FLOOR_PORT" -upstream "127.0.0.1:$BACKEND_PORT" &
pids+=($!)
pid_of[go-floor]=$!

wait_port() {
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "proxy.sh: nothing listens on port $1" >&2
	exit 1
}
for t in "${targets[@]}"; do
	set -- $t
	case $1 in
	gatehouse-* | baseline-*)
		echo "waiting for $1 to apply $ROUTES routes..." >&2
		for _ in $(seq 1800); do
			curl -fsS "http://127.0.0.1:$3/readyz" >/dev/null 2>&1 && break
			sleep 0.1
		done
		if ! curl -fsS "http://127.0.0.1:$2/bench" >/dev/null; then
			echo "proxy.sh: $1 does not serve the benchmarked route; its output:" >&2
			cat "$work/$1.out" >&2
			exit 1
		fi
		;;
	*) wait_port "$2" ;;
	esac
done

# run NAME PORT: one wrk run; prints "NAME rps p50_ms p99_ms proxy_cpu_us_per_request
# backend_cpu_us_per_request" (proxy CPU 0 for direct).
ticks_per_s=$(getconf CLK_TCK)
run() {
	local out p0=0 p1=0 b0 b1
	[[ -n ${pid_of[$1]:-} ]] && p0=$(cpu_ticks "${pid_of[$1]}")
	b0=$(cpu_ticks "$backend_pid")
	out=$(taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$2/bench" 2>&1)
	[[ -n ${pid_of[$1]:-} ]] && p1=$(cpu_ticks "${pid_of[$1]}")
	b1=$(cpu_ticks "$backend_pid")
	echo "$out" >>"$work/wrk.log"
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		# Kept, and marked in the table: one target's errors (a stall of
		# the shared machine) should not cost the others' figures.
		echo "proxy.sh: $1 had errors (marked with ! in the table):" >&2
		echo "$out" >&2
		touch "$work/errors.$1"
	fi
	awk -v name="$1" -v pt="$((p1 - p0))" -v bt="$((b1 - b0))" -v hz="$ticks_per_s" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec:/ { rps = $2 } /requests in/ { n = $1 }
		END { printf "%s %.0f %.3f %.3f %.1f %.1f\n", name, rps, p50, p99, n ? pt / hz * 1e6 / n : 0, n ? bt / hz * 1e6 / n : 0 }' <<<"$out"
}

echo "warming up..." >&2
for t in "${targets[@]}"; do
	set -- $t
	taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$2/bench" >/dev/null
done

results="$work/results"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS: ${#targets[@]} targets ($DURATION each)..." >&2
	for t in "${targets[@]}"; do
		set -- $t
		run "$1" "$2" >>"$results"
	done
done

half=$(awk -v r="$(median_of nginx 2 "$results")" 'BEGIN { printf "%d", r / 2 }')
rate_what="half of nginx's peak"
if [[ -n ${FIXED_RATE:-} ]]; then
	half=$FIXED_RATE rate_what="FIXED_RATE"
fi
fixed="$work/fixed"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS at $half req/s ($rate_what): ${#targets[@]} targets ($DURATION each)..." >&2
	for target in "${targets[@]}"; do
		set -- $target
		line=$(taskset -c "$LOAD_CPUS" "$work/loadgen" -url "http://127.0.0.1:$2/bench" -rate "$half" -duration "$DURATION" -conns "$CONNS")
		if [[ $(awk '{ print $6 }' <<<"$line") != 0 ]]; then
			echo "proxy.sh: $1 had errors at $half req/s (marked with ! in the table): $line" >&2
			touch "$work/errors.$1"
		fi
		echo "$1 $line" >>"$fixed"
	done
done

echo
echo "Peak: wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS rounds (median), body $SIZE B"
echo "proxy CPUs '$PROXY_CPUS' (nginx $ncpu worker(s), Gatehouse GOMAXPROCS=${GATEHOUSE_PROCS:-$ncpu}), wrk/backend CPUs '$LOAD_CPUS', Gatehouse: build/gatehouse $(build/gatehouse version 2>/dev/null | head -1), $ROUTES routes, access log $ACCESS_LOG"
echo "$(go version | cut -d' ' -f3), $(nginx -v 2>&1 | cut -d' ' -f3), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf "| %-14s | %10s | %8s | %8s | %9s | %12s | %14s | %14s |\n" target "req/s" "p50 ms" "p99 ms" "vs nginx" "CPU µs/req" "× nginx's CPU" "backend µs/req"
printf "|----------------|-----------:|---------:|---------:|----------:|-------------:|---------------:|---------------:|\n"
ng=$(median_of nginx 2 "$results")
ngcpu=$(median_of nginx 5 "$results")
names=()
for t in "${targets[@]}"; do names+=("${t%% *}"); done
mark() { if [[ -e "$work/errors.$1" ]]; then echo "$1 !"; else echo "$1"; fi; }
for t in "${names[@]}"; do
	awk -v t="$(mark "$t")" -v rps="$(median_of "$t" 2 "$results")" -v p50="$(median_of "$t" 3 "$results")" -v p99="$(median_of "$t" 4 "$results")" -v ng="$ng" \
		-v cpu="$(median_of "$t" 5 "$results")" -v ngcpu="$ngcpu" -v be="$(median_of "$t" 6 "$results")" \
		'BEGIN { printf "| %-14s | %10.0f | %8.3f | %8.3f | %8.2fx |", t, rps, p50, p99, rps / ng
		         if (t ~ /^direct/) printf " %12s | %14s |", "-", "-"; else printf " %12.1f | %13.2fx |", cpu, cpu / ngcpu
		         printf " %14.1f |\n", be }'
done
echo
echo "CPU µs/req: the proxy's user + system time (nginx's workers included) over the requests of its peak runs, median;"
echo "backend µs/req: the backend's, behind each proxy. Pinned, a proxy's rate is capped by the load CPUs' (wrk's and"
echo "the backend's) cost per request too: compare the CPU columns there, not only the rates."
echo
echo "Fixed rate: loadgen at $half req/s ($rate_what), $CONNS connections, $DURATION, $ROUNDS rounds (median; p99 of each round in order)"
echo
printf "| %-14s | %10s | %8s | %8s | %8s | %14s | %-30s |\n" target "req/s" "p50 ms" "p90 ms" "p99 ms" "added p99 ms" "p99 ms, each round"
printf "|----------------|-----------:|---------:|---------:|---------:|---------------:|--------------------------------|\n"
direct99=$(median_of direct 5 "$fixed")
for t in "${names[@]}"; do
	awk -v t="$(mark "$t")" -v rps="$(median_of "$t" 2 "$fixed")" -v p50="$(median_of "$t" 3 "$fixed")" -v p90="$(median_of "$t" 4 "$fixed")" \
		-v p99="$(median_of "$t" 5 "$fixed")" -v d="$direct99" -v rounds="$(awk -v t="$t" '$1 == t { printf "%s%.2f", sep, $5; sep = " " }' "$fixed")" \
		'BEGIN { printf "| %-14s | %10.0f | %8.3f | %8.3f | %8.3f | %14.3f | %-30s |\n", t, rps, p50, p90, p99, p99 - d, rounds }'
done
