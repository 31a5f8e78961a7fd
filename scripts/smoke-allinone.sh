#!/usr/bin/env bash
# smoke-allinone.sh — proves what the all-in-one image would do, without a
# Docker engine (ARCHITECTURE §13).
#
# It builds with the make target Dockerfile.allinone runs, lays the result
# out in a temporary root exactly as the image's COPY lines say, takes the
# gatehouse container's environment from Dockerfile.allinone and
# docker-compose.yaml themselves (scripts/allinone reads them with buildkit's
# parser and compose-go; deploy/.env.example stands in for .env), starts a
# real redis-server standing in for the compose service "redis", starts
# `gatehouse serve` as the container's ENTRYPOINT would, and checks what a
# user of `docker compose up` relies on. It prints a figure table at the end
# and exits non-zero, naming the failed check, on any failure.
#
# Container paths (/data, /opt/gatehouse/plugins, …) live under the temporary
# root; "redis:6379" becomes the stand-in's 127.0.0.1 port; the container
# ports 8080 and 8001 become free 127.0.0.1 ports, as `ports:` maps them. It
# never binds 8080, 8001 or 6379.
#
# Environment: SMOKE_KEEP=1 keeps the temporary directory; SMOKE_STARTS
# (default 5) is the number of timed restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

STARTS=${SMOKE_STARTS:-5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-smoke.XXXXXX")
ROOT=$WORK/root
BUILD=$WORK/build
GH_PID=""
REDIS_PID=""
SSE_PID=""
CURRENT="setup"
PASSED=()

log() { printf '%s\n' "$*"; }

fail() {
  log "" "smoke: FAIL [$CURRENT]: $*" >&2
  if [ -s "$WORK/gatehouse.err" ]; then
    log "--- gatehouse stderr (last 20 lines)" >&2
    tail -n 20 "$WORK/gatehouse.err" >&2
  fi
  if [ -s "$WORK/gatehouse.out" ]; then
    log "--- gatehouse stdout (last 20 lines)" >&2
    tail -n 20 "$WORK/gatehouse.out" >&2
  fi
  SMOKE_KEEP=1
  exit 1
}

cleanup() {
  local code=$?
  [ -n "$SSE_PID" ] && kill "$SSE_PID" 2>/dev/null
  [ -n "$GH_PID" ] && kill -KILL "$GH_PID" 2>/dev/null && wait "$GH_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  if [ -n "${SMOKE_KEEP:-}" ]; then
    log "smoke: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

run_check() {
  CURRENT=$1
  log "== $1"
  "check_$1"
  PASSED+=("$1")
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
size_mb() { du -sb "$@" | awk '{s += $1} END {printf "%.1f MB", s / 1e6}'; }

for tool in make go curl jq redis-server redis-cli; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (apt-get install redis-server jq curl)"
done

# ---------------------------------------------------------------- build

check_build() {
  # What the Dockerfile's build stage runs: one make build, then
  # verify-plugins on its output.
  if ! make -s build BUILD_DIR="$BUILD" >"$WORK/build.log" 2>&1; then
    tail -n 30 "$WORK/build.log" >&2
    fail "make build failed (log above)"
  fi
  "$BUILD/gatehouse" verify-plugins --plugin-dir "$BUILD/plugins" >"$WORK/verify-build.out" 2>&1 ||
    fail "verify-plugins on the build output failed: $(cat "$WORK/verify-build.out")"
  go build -o "$WORK/allinone" ./scripts/allinone || fail "cannot build scripts/allinone"
}

# ---------------------------------------------------------------- layout

declare -A HOSTPORT=()
ENTRYPOINT=()
CONTAINER_ENV=()

# map_value turns a value as the container sees it into the stand-in's.
map_value() {
  local v=$1
  v=${v//redis:6379/127.0.0.1:$REDIS_PORT}
  case $v in
    /*) v=$ROOT$v ;;
  esac
  printf '%s' "$v"
}

# map_file copies a bind-mounted file, pointing the container's own ports
# at the ports they are published on.
map_file() {
  local src=$1 dst=$2 expr=()
  for p in "${!HOSTPORT[@]}"; do
    expr+=(-e "s/127\.0\.0\.1:$p\b/127.0.0.1:${HOSTPORT[$p]}/g" -e "s/localhost:$p\b/127.0.0.1:${HOSTPORT[$p]}/g")
  done
  mkdir -p "$(dirname "$dst")"
  sed "${expr[@]}" "$src" >"$dst"
}

check_layout() {
  "$WORK/allinone" layout >"$WORK/layout.tsv" || fail "cannot read the container from Dockerfile.allinone and docker-compose.yaml"
  local ports
  mapfile -t ports < <("$WORK/allinone" ports 3)
  REDIS_PORT=${ports[2]}
  local line kind a b fields
  while IFS= read -r line; do
    IFS=$'\t' read -r -a fields <<<"$line"
    kind=${fields[0]}
    case $kind in
      port)
        local i=${#HOSTPORT[@]}
        [ "$i" -lt 2 ] || fail "docker-compose.yaml publishes more ports than the smoke test maps"
        HOSTPORT[${fields[1]}]=${ports[$i]}
        ;;
    esac
  done <"$WORK/layout.tsv"
  [ -n "${HOSTPORT[8080]:-}" ] && [ -n "${HOSTPORT[8001]:-}" ] || fail "docker-compose.yaml must publish 8080 and 8001"

  while IFS= read -r line; do
    IFS=$'\t' read -r -a fields <<<"$line"
    kind=${fields[0]} a=${fields[1]:-} b=${fields[2]:-}
    case $kind in
      env) CONTAINER_ENV+=("$a=$(map_value "$b")") ;;
      copy)
        # Sources are relative to the build stage's WORKDIR, where make
        # writes build/; here make wrote $BUILD.
        local src=$BUILD/${a#build/}
        if [ -d "$src" ]; then
          mkdir -p "$ROOT$b"
          cp -a "$src/." "$ROOT$b"
        else
          mkdir -p "$(dirname "$ROOT$b")"
          cp -a "$src" "$ROOT$b"
        fi
        ;;
      volume) mkdir -p "$ROOT$a" ;;
      bind) map_file "$a" "$ROOT$b" ;;
      entrypoint) ENTRYPOINT=("$ROOT$a" "${fields[@]:2}") ;;
      port) ;;
      *) fail "unknown layout line: $line" ;;
    esac
  done <"$WORK/layout.tsv"
  [ -x "${ENTRYPOINT[0]}" ] || fail "the ENTRYPOINT ${ENTRYPOINT[0]#"$ROOT"} is not in the layout"
  # The container listens on the image defaults (:8080, :8001); `ports:`
  # publishes them. Here they listen on the published ports directly.
  CONTAINER_ENV+=("GATEHOUSE_GATEWAY_ADDR=127.0.0.1:${HOSTPORT[8080]}" "GATEHOUSE_CONSOLE_ADDR=127.0.0.1:${HOSTPORT[8001]}")
  # Sizes now: a later check removes a plugin.
  SIZE_BINARY=$(size_mb "$ROOT/usr/local/bin/gatehouse")
  SIZE_PLUGINS=$(size_mb "$ROOT/opt/gatehouse/plugins")
  SIZE_CONSOLE=$(size_mb "$REPO/web/dist")
  SIZE_LAYOUT=$(size_mb "$ROOT")
  CONSOLE=http://127.0.0.1:${HOSTPORT[8001]}
  GATEWAY=http://127.0.0.1:${HOSTPORT[8080]}
  log "   root $ROOT, console $CONSOLE, gateway $GATEWAY, redis 127.0.0.1:$REDIS_PORT"
}

container_env() {
  local k=$1 kv
  for kv in "${CONTAINER_ENV[@]}"; do
    [ "${kv%%=*}" = "$k" ] && { printf '%s' "${kv#*=}"; return 0; }
  done
  return 1
}

# in_container runs a command with exactly the container's environment.
CONTAINER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
in_container() {
  env -i PATH="$CONTAINER_PATH" "${CONTAINER_ENV[@]}" "$@"
}

check_settings_known() {
  # gatehouse ignores unknown variables, so a typo in the compose file would
  # pass unnoticed: every GATEHOUSE_* the container gets must be a setting.
  local help kv k unknown=()
  help=$(in_container "${ENTRYPOINT[0]}" serve --help) || fail "gatehouse serve --help failed"
  for kv in "${CONTAINER_ENV[@]}"; do
    k=${kv%%=*}
    grep -qw -- "$k" <<<"$help" || unknown+=("$k")
  done
  [ ${#unknown[@]} -eq 0 ] || fail "gatehouse does not know ${unknown[*]} (set by Dockerfile.allinone or docker-compose.yaml): a typo, or a setting that was renamed"
}

check_verify_plugins_in_image() {
  # What the runtime stage's RUN gatehouse verify-plugins does.
  local out
  out=$(in_container "${ENTRYPOINT[0]}" verify-plugins 2>&1) || fail "verify-plugins in the image layout failed: $out"
  grep -Eq '^mcp-server +true +verified' <<<"$out" || fail "mcp-server is not listed as required and verified: $out"
}

# ---------------------------------------------------------------- processes

check_redis_standin() {
  local pw
  pw=$(container_env GATEHOUSE_REDIS_PASSWORD) || fail "the gatehouse service has no GATEHOUSE_REDIS_PASSWORD"
  mkdir -p "$WORK/redis-data"
  # Like the compose service: AOF on, the password from the env file.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --appendonly yes --save '' --dir "$WORK/redis-data" \
    --requirepass "$pw" --daemonize no --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  local deadline=$(($(now_ms) + 10000))
  until [ "$(REDISCLI_AUTH=$pw redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; do
    kill -0 "$REDIS_PID" 2>/dev/null || fail "redis-server exited: $(tail -n 5 "$WORK/redis.log")"
    [ "$(now_ms)" -lt "$deadline" ] || fail "redis-server did not answer PING within 10s"
    sleep 0.02
  done
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1)" != "PONG" ] || fail "redis answers without the password"
}

# start_gatehouse starts the ENTRYPOINT with the container's environment and
# sets GH_PID and START_MS.
start_gatehouse() {
  START_MS=$(now_ms)
  # Not through in_container: $! must be gatehouse itself (env execs it),
  # so that SIGTERM reaches it as docker stop's would.
  env -i PATH="$CONTAINER_PATH" "${CONTAINER_ENV[@]}" "${ENTRYPOINT[@]}" >"$WORK/gatehouse.out" 2>"$WORK/gatehouse.err" &
  GH_PID=$!
}

# wait_ready polls /readyz as the image's HEALTHCHECK does and sets READY_MS
# to the milliseconds since start_gatehouse.
wait_ready() {
  local deadline=$(($(now_ms) + 30000))
  until curl -fs -o /dev/null --max-time 1 "$CONSOLE/readyz"; do
    if ! kill -0 "$GH_PID" 2>/dev/null; then
      wait "$GH_PID" && code=0 || code=$?
      GH_PID=""
      fail "gatehouse exited with code $code before it was ready"
    fi
    [ "$(now_ms)" -lt "$deadline" ] || fail "/readyz did not answer 200 within 30s"
    sleep 0.01
  done
  READY_MS=$(($(now_ms) - START_MS))
}

# stop_gatehouse sends SIGTERM (docker stop) and requires exit 0 within
# GATEHOUSE_SHUTDOWN_TIMEOUT.
stop_gatehouse() {
  local timeout limit_ms t0 code
  timeout=$(container_env GATEHOUSE_SHUTDOWN_TIMEOUT || echo 30s)
  case $timeout in
    *ms) limit_ms=${timeout%ms} ;;
    *s) limit_ms=$((${timeout%s} * 1000)) ;;
    *m) limit_ms=$((${timeout%m} * 60000)) ;;
    *) fail "cannot read GATEHOUSE_SHUTDOWN_TIMEOUT=$timeout" ;;
  esac
  t0=$(now_ms)
  kill -TERM "$GH_PID"
  while kill -0 "$GH_PID" 2>/dev/null; do
    [ $(($(now_ms) - t0)) -le "$limit_ms" ] || fail "gatehouse still running ${timeout} after SIGTERM"
    sleep 0.01
  done
  wait "$GH_PID" && code=0 || code=$?
  GH_PID=""
  [ "$code" -eq 0 ] || fail "gatehouse exited with code $code after SIGTERM, expected 0"
  STOP_MS=$(($(now_ms) - t0))
}

check_first_start() {
  start_gatehouse
  wait_ready
  FIRST_START_MS=$READY_MS
  log "   ready in ${FIRST_START_MS} ms (fresh /data)"
}

# ---------------------------------------------------------------- checks

# api METHOD URL [JSON] calls the admin API with the token and sets RESP to
# the body; any answer but 2xx fails the check.
api() {
  local method=$1 url=$2 body=${3:-} code args=()
  [ -n "$body" ] && args=(-H 'Content-Type: application/json' --data "$body")
  code=$(curl -sS -o "$WORK/resp" -w '%{http_code}' -X "$method" -H "Authorization: Bearer ${TOKEN:-}" \
    "${args[@]}" "$url") || fail "$method $url: request failed"
  RESP=$(cat "$WORK/resp")
  [[ $code == 2* ]] || fail "$method $url answered $code: $RESP"
}

check_console_embedded() {
  local html
  html=$(curl -fsS "$CONSOLE/") || fail "GET / failed"
  grep -q '<div id="root">' <<<"$html" || fail "GET / is not the console's index.html"
  ! grep -q 'console not built' <<<"$html" || fail "the binary carries the 'console not built' placeholder: make build did not embed web/dist"
}

check_admin_login() {
  local user pw body
  user=$(container_env GATEHOUSE_ADMIN_USER) || fail "no GATEHOUSE_ADMIN_USER in the container"
  pw=$(container_env GATEHOUSE_ADMIN_PASSWORD) || fail "no GATEHOUSE_ADMIN_PASSWORD in the container"
  body=$(jq -nc --arg u "$user" --arg p "$pw" '{username: $u, password: $p}')
  api POST "$CONSOLE/api/v1/auth/login" "$body"
  TOKEN=$(jq -r '.token // empty' <<<"$RESP")
  [ -n "$TOKEN" ] || fail "login as the bootstrap administrator $user returned no token: $RESP"
  api GET "$CONSOLE/api/v1/auth/me"
  [ "$(jq -r '.username // .user.username' <<<"$RESP")" = "$user" ] || fail "/auth/me does not name $user: $RESP"
}

check_plugins_verified() {
  local p want
  want=$ROOT/opt/gatehouse/plugins/mcp-server.so
  api GET "$CONSOLE/api/v1/plugins"
  p=$(jq -c '(.items // .)[] | select(.name == "mcp-server")' <<<"$RESP")
  [ -n "$p" ] || fail "/api/v1/plugins does not list mcp-server"
  [ "$(jq -r .status <<<"$p")" = verified ] || fail "mcp-server is not verified: $p"
  [ "$(jq -r .required <<<"$p")" = true ] || fail "mcp-server is not marked required: $p"
  [ "$(jq -r .path <<<"$p")" = "$want" ] || fail "mcp-server was loaded from $(jq -r .path <<<"$p"), expected /opt/gatehouse/plugins/mcp-server.so"
}

check_gateway_log() {
  local file lines
  file=$(container_env GATEHOUSE_LOG_FILE) || fail "no GATEHOUSE_LOG_FILE in the container"
  [ -s "$file" ] || fail "gateway.log is not at ${file#"$ROOT"} (the log volume)"
  api GET "$CONSOLE/api/v1/logs/gateway?lines=500"
  lines=$RESP
  jq -e '.items | length > 0' <<<"$lines" >/dev/null || fail "the log API returned no lines"
  for want in "gatehouse ready" "plugin verified"; do
    jq -e --arg w "$want" '[.items[] | tostring | select(contains($w))] | length > 0' <<<"$lines" >/dev/null ||
      fail "the log API has no line with \"$want\""
  done
}

check_metrics() {
  local m
  api GET "$CONSOLE/metrics"
  m=$RESP
  grep -q '^gatehouse_admin_requests_total{' <<<"$m" || fail "/metrics has no gatehouse_admin_requests_total"
  grep -q '^go_goroutines ' <<<"$m" || fail "/metrics has no process metrics"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CONSOLE/metrics")" = 401 ] || fail "/metrics answers without a token"
}

check_redis_connected() {
  # GATEHOUSE_REDIS_ADDR=redis:6379 reached the stand-in, with the password.
  local r
  api GET "$CONSOLE/api/v1/health"
  r=$(jq -c '.components[] | select(.kind == "redis")' <<<"$RESP")
  [ "$(jq -r .status <<<"$r")" = ok ] || fail "Redis is not connected: ${r:-no redis component in /api/v1/health}"
}

check_example_route() {
  # deploy/gatehouse.yaml (GATEHOUSE_CONFIG_FILE) was applied at start: its
  # route answers on the gateway.
  local body
  body=$(curl -fsS "$GATEWAY/readyz") || fail "GET /readyz on the gateway (the example route) failed"
  [ "$(jq -r .status <<<"$body")" = ready ] || fail "the example route answered $body"
}

# mcp_rpc URL SESSION BODY posts one JSON-RPC message over Streamable HTTP
# and sets RESP to the answer (from JSON or from the SSE stream) and
# MCP_SESSION to the Mcp-Session-Id header.
mcp_rpc() {
  local url=$1 session=$2 body=$3 code hdr=()
  [ -n "$session" ] && hdr=(-H "Mcp-Session-Id: $session" -H "MCP-Protocol-Version: $MCP_VERSION")
  code=$(curl -sS -o "$WORK/mcp.body" -D "$WORK/mcp.headers" -w '%{http_code}' -X POST "$url" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "${hdr[@]}" \
    --data "$body") || fail "POST $url: request failed"
  [[ $code == 2* ]] || fail "POST $url ($body) answered $code: $(cat "$WORK/mcp.body")"
  MCP_SESSION=$(awk 'tolower($1) == "mcp-session-id:" {print $2}' "$WORK/mcp.headers" | tr -d '\r')
  if grep -qi '^content-type: text/event-stream' "$WORK/mcp.headers"; then
    RESP=$(sed -n 's/^data: //p' "$WORK/mcp.body" | tail -n 1)
  else
    RESP=$(cat "$WORK/mcp.body")
  fi
}

# expect_tools_list and expect_tool_result check the example MCP server's
# answers to tools/list and tools/call.
expect_tools_list() {
  jq -e '.result.tools[] | select(.name == "readiness")' <<<"$1" >/dev/null ||
    fail "tools/list over $2 does not list the example tool readiness: $1"
}
expect_tool_result() {
  [ "$(jq -r '.result.content[0].text' <<<"$1")" = "Gatehouse is ready." ] ||
    fail "tools/call readiness over $2 answered $1"
}

MCP_PATH=/mcp-servers/gatehouse-status
MCP_VERSION=2025-06-18
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"smoke-allinone","version":"1"}}}'
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
CALL='{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"readiness","arguments":{}}}'
INITIALIZED='{"jsonrpc":"2.0","method":"notifications/initialized"}'

check_mcp_streamable_http() {
  local url=$GATEWAY$MCP_PATH session
  # shellcheck disable=SC2059
  mcp_rpc "$url" "" "$(printf "$INIT" "$MCP_VERSION")"
  session=$MCP_SESSION
  [ -n "$session" ] || fail "initialize over Streamable HTTP returned no Mcp-Session-Id: $RESP"
  [ "$(jq -r .result.protocolVersion <<<"$RESP")" = "$MCP_VERSION" ] || fail "initialize did not negotiate $MCP_VERSION: $RESP"
  mcp_rpc "$url" "$session" "$INITIALIZED"
  mcp_rpc "$url" "$session" "$LIST"
  expect_tools_list "$RESP" "Streamable HTTP"
  mcp_rpc "$url" "$session" "$CALL"
  expect_tool_result "$RESP" "Streamable HTTP"
}

check_mcp_sse() {
  # Legacy HTTP+SSE: answers arrive on the GET stream, in order.
  local stream=$WORK/sse.stream endpoint="" deadline answers
  : >"$stream"
  curl -sN "$GATEWAY$MCP_PATH/sse" >"$stream" &
  SSE_PID=$!
  deadline=$(($(now_ms) + 10000))
  until endpoint=$(sed -n 's/^data: //p' "$stream" | head -n 1 | tr -d '\r') && [ -n "$endpoint" ]; do
    kill -0 "$SSE_PID" 2>/dev/null || fail "the SSE stream at $MCP_PATH/sse closed without an endpoint event"
    [ "$(now_ms)" -lt "$deadline" ] || fail "no endpoint event on $MCP_PATH/sse within 10s"
    sleep 0.01
  done
  local body
  # shellcheck disable=SC2059
  for body in "$(printf "$INIT" 2024-11-05)" "$INITIALIZED" "$LIST" "$CALL"; do
    curl -fsS -o /dev/null -X POST "$GATEWAY$endpoint" -H 'Content-Type: application/json' --data "$body" ||
      fail "POST $endpoint ($body) failed"
  done
  # Three answers (initialize, tools/list, tools/call); the notification
  # has none.
  until [ "$(grep -c '^data: {' "$stream")" -ge 3 ]; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "the SSE stream did not carry 3 answers within 10s: $(cat "$stream")"
    sleep 0.01
  done
  kill "$SSE_PID" 2>/dev/null
  wait "$SSE_PID" 2>/dev/null || true
  SSE_PID=""
  answers=$(sed -n 's/^data: {/{/p' "$stream")
  expect_tools_list "$(jq -c 'select(.id == 2)' <<<"$answers")" "SSE"
  expect_tool_result "$(jq -c 'select(.id == 3)' <<<"$answers")" "SSE"
}

check_config_export() {
  # README: `docker compose exec gatehouse gatehouse config export` writes
  # the running configuration back into deploy/gatehouse.yaml.
  local out
  out=$(in_container "${ENTRYPOINT[0]}" config export 2>"$WORK/export.err") || fail "gatehouse config export failed: $(cat "$WORK/export.err")"
  for want in "name: readiness" "name: gatehouse-status" "name: gatehouse-console"; do
    grep -qF "$want" <<<"$out" || fail "config export lacks \"$want\": $out"
  done
}

check_sigterm() {
  stop_gatehouse
  log "   exit 0 ${STOP_MS} ms after SIGTERM"
  grep -q 'gatehouse stopped' "$(container_env GATEHOUSE_LOG_FILE)" || fail "gateway.log does not record the stop"
}

check_cold_starts() {
  START_TIMES=()
  local i
  for ((i = 1; i <= STARTS; i++)); do
    start_gatehouse
    wait_ready
    START_TIMES+=("$READY_MS")
    stop_gatehouse
  done
  log "   ${START_TIMES[*]} ms"
}

check_missing_plugin() {
  local so code
  so=$ROOT/opt/gatehouse/plugins/mcp-server.so
  rm -f "$so"
  start_gatehouse
  local deadline=$(($(now_ms) + 30000))
  while kill -0 "$GH_PID" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "gatehouse kept running without mcp-server.so"
    sleep 0.01
  done
  wait "$GH_PID" && code=0 || code=$?
  GH_PID=""
  [ "$code" -eq 3 ] || fail "start without mcp-server.so exited with $code, expected 3 (plugin verification)"
  grep -q 'plugin "mcp-server"' "$WORK/gatehouse.err" || fail "stderr does not name the plugin: $(cat "$WORK/gatehouse.err")"
  grep -qF "$so" "$WORK/gatehouse.err" || fail "stderr does not name the path $so"
  ! curl -fs -o /dev/null --max-time 1 "$CONSOLE/readyz" || fail "a listener answered although verification failed"
  log "   $(head -n 1 "$WORK/gatehouse.err")"
}

# ---------------------------------------------------------------- run

run_check build
run_check layout
run_check settings_known
run_check verify_plugins_in_image
run_check redis_standin
run_check first_start
run_check console_embedded
run_check admin_login
run_check plugins_verified
run_check gateway_log
run_check metrics
run_check redis_connected
run_check example_route
run_check mcp_streamable_http
run_check mcp_sse
run_check config_export
run_check sigterm
run_check cold_starts
run_check missing_plugin
CURRENT="report"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

log ""
log "smoke: all ${#PASSED[@]} checks passed (${PASSED[*]})"
log ""
printf '%-48s %s\n' "figure" "value" \
  "binary /usr/local/bin/gatehouse" "$SIZE_BINARY" \
  "  of which the console (web/dist, embedded)" "$SIZE_CONSOLE" \
  "plugins /opt/gatehouse/plugins" "$SIZE_PLUGINS" \
  "runtime layout (binary + plugins + console)" "$SIZE_LAYOUT" \
  "first start to /readyz (fresh /data)" "${FIRST_START_MS} ms" \
  "cold start to /readyz, median of $STARTS" "$(median "${START_TIMES[@]}") ms (${START_TIMES[*]})"
