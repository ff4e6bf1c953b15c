#!/usr/bin/env bash
# Installs everything focus-fl needs on a fresh Debian machine with Node 20 and npm:
# Debian chromium (+ lavapipe for fast WebGL) for the browser tabs, Debian redis-server for the
# experiment queue tests (apps/experiments), pnpm 9, the workspace dependencies, and the built
# browser pages. Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
  echo "[setup] installing Debian chromium and mesa-vulkan-drivers"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium mesa-vulkan-drivers >/dev/null
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "[setup] installing Debian redis-server (experiment queue tests start their own)"
  $SUDO apt-get update -q
  # The tests start their own server on a free loopback port; a system service the package
  # may start is not used.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends redis-server >/dev/null
fi

if ! command -v pnpm >/dev/null 2>&1; then
  echo "[setup] installing pnpm 9"
  $SUDO npm install -g pnpm@9.15.9 >/dev/null
fi

echo "[setup] installing workspace dependencies"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | tail -3

echo "[setup] building browser pages"
pnpm -r --if-present build >/dev/null
echo "[setup] done"
