#!/usr/bin/env bash
# Proxy benchmark: the same backend measured directly, behind nginx (Debian's
# nginx-light as a reverse proxy with upstream keep-alive), behind a bare Go
# httputil.ReverseProxy (net/http's own cost, for reference) and behind the
# real `gatehouse` binary (build/gatehouse, configured with a generated
# GATEHOUSE_CONFIG_FILE of ROUTES routes), with wrk at 64 connections, in one run on one machine.
# Prints a table with requests/s, latency and the ratio to nginx (peak, wrk),
# then the latency of each at a fixed rate of half nginx's peak (loadgen,
# measured from each request's scheduled start) and what the proxy adds to
# the direct p99.
#
# Usage: scripts/bench/proxy.sh            (from the repository root)
# Knobs (environment): DURATION=10s CONNS=64 THREADS=2 ROUNDS=3 SIZE=64
#   ROUTES=10000  routes in Gatehouse's table (the benchmarked route is the last)
#   PROXY_CPUS=1  CPUs (taskset list) for the proxy under test: nginx gets one
#                 worker per CPU, Gatehouse GOMAXPROCS = number of CPUs
#   LOAD_CPUS=0   CPUs for wrk and the backend
#   ACCESS_LOG=off  Gatehouse's access log (nginx runs with access_log off); on
#                 measures its cost
#   BASE_PORT=18081  backend; +1 nginx; +2 Gatehouse; +3 bare Go proxy;
#                    +4 Gatehouse's console (never 8080/8001)
set -euo pipefail
cd "$(dirname "$0")/../.."

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
BACKEND_PORT=$BASE_PORT
NGINX_PORT=$((BASE_PORT + 1))
GATEHOUSE_PORT=$((BASE_PORT + 2))
STOCK_PORT=$((BASE_PORT + 3))
CONSOLE_PORT=$((BASE_PORT + 4))

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
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building gatehouse (make host plugins), the backend and the load generator..." >&2
make -s host plugins >&2
go build -o "$work/backend" ./scripts/bench/backend
go build -o "$work/stockproxy" ./scripts/bench/stockproxy
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
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $ncpu;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    keepalive_requests 100000;
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 256;
        keepalive_requests 100000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
CONF

taskset -c "$LOAD_CPUS" "$work/backend" -addr "127.0.0.1:$BACKEND_PORT" -size "$SIZE" &
pids+=($!)
taskset -c "$PROXY_CPUS" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
GOMAXPROCS=$ncpu taskset -c "$PROXY_CPUS" env \
	GATEHOUSE_GATEWAY_ADDR="127.0.0.1:$GATEHOUSE_PORT" GATEHOUSE_CONSOLE_ADDR="127.0.0.1:$CONSOLE_PORT" \
	GATEHOUSE_DATA_DIR="$work/gatehouse" GATEHOUSE_PLUGIN_DIR="$PWD/build/plugins" \
	GATEHOUSE_CONFIG_FILE="$work/gatehouse.yaml" GATEHOUSE_LOG_LEVEL=info GATEHOUSE_ACCESS_LOG="$ACCESS_LOG" \
	build/gatehouse serve >"$work/gatehouse.out" 2>&1 &
pids+=($!)
GOMAXPROCS=$ncpu taskset -c "$PROXY_CPUS" "$work/stockproxy" -addr "127.0.0.1:$STOCK_PORT" \
	-upstream "http://127.0.0.1:$BACKEND_PORT" &
pids+=($!)

wait_port() {
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "proxy.sh: nothing listens on port $1" >&2
	exit 1
}
for p in "$BACKEND_PORT" "$NGINX_PORT" "$STOCK_PORT"; do wait_port "$p"; done
echo "waiting for gatehouse to apply $ROUTES routes..." >&2
for _ in $(seq 600); do
	curl -fsS "http://127.0.0.1:$CONSOLE_PORT/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! curl -fsS "http://127.0.0.1:$GATEHOUSE_PORT/bench" >/dev/null; then
	echo "proxy.sh: gatehouse does not serve the benchmarked route; its output:" >&2
	cat "$work/gatehouse.out" >&2
	exit 1
fi

# run NAME PORT: one wrk run; prints "rps p50_ms p99_ms".
run() {
	local out
	out=$(taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$2/bench" 2>&1)
	echo "$out" >>"$work/wrk.log"
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "proxy.sh: $1 had errors:" >&2
		echo "$out" >&2
		exit 1
	fi
	awk -v name="$1" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec:/ { rps = $2 }
		END { printf "%s %.0f %.3f %.3f\n", name, rps, p50, p99 }' <<<"$out"
}

echo "warming up..." >&2
for p in "$BACKEND_PORT" "$NGINX_PORT" "$GATEHOUSE_PORT" "$STOCK_PORT"; do
	taskset -c "$LOAD_CPUS" wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$p/bench" >/dev/null
done

results="$work/results"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS: direct, nginx, go-stock, gatehouse ($DURATION each)..." >&2
	run direct "$BACKEND_PORT" >>"$results"
	run nginx "$NGINX_PORT" >>"$results"
	run go-stock "$STOCK_PORT" >>"$results"
	run gatehouse "$GATEHOUSE_PORT" >>"$results"
done

median_of() { # median_of NAME COLUMN FILE
	awk -v name="$1" -v col="$2" '$1 == name { v[++n] = $col }
		END { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		      print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$3"
}

half=$(awk -v r="$(median_of nginx 2 "$results")" 'BEGIN { printf "%d", r / 2 }')
fixed="$work/fixed"
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS at $half req/s (half of nginx's peak): direct, nginx, go-stock, gatehouse ($DURATION each)..." >&2
	for target in "direct $BACKEND_PORT" "nginx $NGINX_PORT" "go-stock $STOCK_PORT" "gatehouse $GATEHOUSE_PORT"; do
		set -- $target
		line=$(taskset -c "$LOAD_CPUS" "$work/loadgen" -url "http://127.0.0.1:$2/bench" -rate "$half" -duration "$DURATION" -conns "$CONNS")
		if [[ $(awk '{ print $6 }' <<<"$line") != 0 ]]; then
			echo "proxy.sh: $1 had errors at $half req/s: $line" >&2
			exit 1
		fi
		echo "$1 $line" >>"$fixed"
	done
done

echo
echo "Peak: wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS rounds (median), body $SIZE B"
echo "proxy CPUs '$PROXY_CPUS' (nginx $ncpu worker(s), Gatehouse GOMAXPROCS=$ncpu), wrk/backend CPUs '$LOAD_CPUS', Gatehouse: build/gatehouse $(build/gatehouse version 2>/dev/null | head -1), $ROUTES routes, access log $ACCESS_LOG"
echo "$(go version | cut -d' ' -f3), $(nginx -v 2>&1 | cut -d' ' -f3), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf "| %-10s | %10s | %8s | %8s | %9s |\n" target "req/s" "p50 ms" "p99 ms" "vs nginx"
printf "|------------|-----------:|---------:|---------:|----------:|\n"
ng=$(median_of nginx 2 "$results")
for t in direct nginx go-stock gatehouse; do
	awk -v t="$t" -v rps="$(median_of "$t" 2 "$results")" -v p50="$(median_of "$t" 3 "$results")" -v p99="$(median_of "$t" 4 "$results")" -v ng="$ng" \
		'BEGIN { printf "| %-10s | %10.0f | %8.3f | %8.3f | %8.2fx |\n", t, rps, p50, p99, rps / ng }'
done
echo
echo "Fixed rate: loadgen at $half req/s (half of nginx's peak), $CONNS connections, $DURATION, $ROUNDS rounds (median)"
echo
printf "| %-10s | %10s | %8s | %8s | %8s | %14s |\n" target "req/s" "p50 ms" "p90 ms" "p99 ms" "added p99 ms"
printf "|------------|-----------:|---------:|---------:|---------:|---------------:|\n"
direct99=$(median_of direct 5 "$fixed")
for t in direct nginx go-stock gatehouse; do
	awk -v t="$t" -v rps="$(median_of "$t" 2 "$fixed")" -v p50="$(median_of "$t" 3 "$fixed")" -v p90="$(median_of "$t" 4 "$fixed")" \
		-v p99="$(median_of "$t" 5 "$fixed")" -v d="$direct99" \
		'BEGIN { printf "| %-10s | %10.0f | %8.3f | %8.3f | %8.3f | %14.3f |\n", t, rps, p50, p90, p99, p99 - d }'
done
