#!/usr/bin/env bash
# Everything a fresh machine needs before spinel can be built, run and tested:
# pnpm, the Debian programs the integration tests start (an OCI registry, Redis, PostgreSQL,
# MariaDB, mosquitto, skopeo),
# the workspace's dependencies from the lockfile, and a build of every package.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."

want_pnpm=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  echo "setup: installing pnpm@$want_pnpm"
  npm install --global "pnpm@$want_pnpm"
fi

missing=()
for pkg in docker-registry redis-server skopeo openssl postgresql mariadb-server mosquitto; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# The runner's tests put `spinel kube scaffold` output through kubectl; the bench loads with wrk.
# A clean bookworm gets kubectl 1.20.2 (kubernetes-client): the scaffold tests pass with it as with 1.32.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# better-sqlite3 compiles from source; node-gyp must use this machine's Node headers
# instead of downloading them (there is no route to the headers' host).
npm_config_nodedir="$(npm config get nodedir)"
export npm_config_nodedir
pnpm install --frozen-lockfile
pnpm build

# The example app's component is JavaScript built into Wasm by componentize-js (about ten
# seconds, skipped when it is already current), so `spinel up -f examples/hello` can serve it.
node examples/hello/build.mjs --if-stale
