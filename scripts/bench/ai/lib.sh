# shellcheck shell=bash
# What the AI benchmarks (ai.sh, cache.sh, ratelimit.sh) share. Source it
# after setting PROXY_CPUS, LOAD_CPUS and the ports: STANDIN_PORT,
# GATEHOUSE_PORT, CONSOLE_PORT, and REDIS_PORT for start_redis. It makes
# $work (removed on exit with every process started here) and $bench (the
# script's name, for messages).

bench=$(basename "$0")
work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# build_tools: the stand-in and the load generator into $work.
build_tools() {
	go build -o "$work/llm-standin" ./tests/llmstandin/cmd/llm-standin
	go build -o "$work/aiload" ./scripts/bench/ai/aiload
}

start_standin() {
	taskset -c "$LOAD_CPUS" "$work/llm-standin" -addr "127.0.0.1:$STANDIN_PORT" >"$work/standin.out" 2>&1 &
	pids+=($!)
}

start_redis() {
	taskset -c "$LOAD_CPUS" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.out" 2>&1 &
	pids+=($!)
}

# start_gatehouse [NAME=VALUE...]: the real binary on PROXY_CPUS
# (GOMAXPROCS = their number, in $ncpu) with $work/gatehouse.yaml, access
# log off; its pid in $gatehouse_pid, its output in $work/gatehouse.out.
start_gatehouse() {
	ncpu=$(taskset -c "$PROXY_CPUS" nproc)
	GOMAXPROCS=$ncpu taskset -c "$PROXY_CPUS" env \
		GATEHOUSE_GATEWAY_ADDR="127.0.0.1:$GATEHOUSE_PORT" GATEHOUSE_CONSOLE_ADDR="127.0.0.1:$CONSOLE_PORT" \
		GATEHOUSE_DATA_DIR="$work/gatehouse" GATEHOUSE_PLUGIN_DIR="$PWD/build/plugins" \
		GATEHOUSE_CONFIG_FILE="$work/gatehouse.yaml" GATEHOUSE_LOG_LEVEL=info GATEHOUSE_ACCESS_LOG=off \
		"$@" build/gatehouse serve >"$work/gatehouse.out" 2>&1 &
	gatehouse_pid=$!
	pids+=($gatehouse_pid)
}

# wait_ready PORT...: each port listens, then Gatehouse is ready.
wait_ready() {
	local p
	for p in "$@"; do
		for _ in $(seq 300); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue 2; fi
			sleep 0.1
		done
		echo "$bench: nothing listens on port $p" >&2
		cat "$work"/*.out >&2
		exit 1
	done
	for _ in $(seq 300); do
		curl -fsS "http://127.0.0.1:$CONSOLE_PORT/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
}

# check NAME LINE [ERRORS_COLUMN]: stop when an aiload line counted errors
# (column 6 unless given), with the end of Gatehouse's output.
check() {
	if [[ $(awk -v c="${3:-6}" '{ print $c }' <<<"$2") != 0 ]]; then
		echo "$bench: $1 had errors: $2" >&2
		grep -v 'msg="ai request"' "$work/gatehouse.out" | tail -10 >&2
		if [[ -f $work/portkey.out ]]; then grep -v '^ *at ' "$work/portkey.out" | tail -10 >&2; fi
		exit 1
	fi
}

median_of() { # median_of NAME COLUMN FILE
	awk -v name="$1" -v col="$2" '$1 == name { v[++n] = $col }
		END { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		      print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$3"
}

# machine: one line naming Go, the CPUs and the load average.
machine() {
	echo "$(go version | cut -d' ' -f3), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
