#!/usr/bin/env bash
# Installs the system packages the test suite needs when they are missing.
# Debian/Ubuntu: apt-get. Elsewhere it says what to install and fails.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ "${GATEHOUSE_SKIP_BROWSER:-}" = "" ] && [ -d "$(dirname "$0")/../web" ]; then
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
  fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-zenhei)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need: ${need[*]}. Install them with your package manager and run make test again." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing test dependencies: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
