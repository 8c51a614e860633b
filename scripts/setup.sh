#!/usr/bin/env bash
# One step from a fresh checkout to a working videochat on Debian/Ubuntu:
#   1. checks Node.js >= 20 (says how to get it when missing; does not install it),
#   2. installs the system packages that are missing (scripts/install-system-deps.sh; sudo
#      when not root),
#   3. runs `npm ci`, which installs the exact locked dependencies and builds dist/.
# Usage: bash scripts/setup.sh [--test]
#   --test   also the system packages the test suite needs (tmux, xvfb, xterm, ...)
# Safe to run again: it only installs what is missing, and `npm ci` starts from a clean tree.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly MIN_NODE_MAJOR=20

test_deps=()
for arg in "$@"; do
  case "$arg" in
    --test) test_deps=(--test) ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown argument '$arg' (usage: bash scripts/setup.sh [--test])" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: Node.js >= ${MIN_NODE_MAJOR} with npm is needed; install it first (e.g. your distribution's nodejs package if new enough, or the official Node.js binaries)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt "$MIN_NODE_MAJOR" ]; then
  echo "setup: Node.js $(node --version) is too old; videochat needs >= ${MIN_NODE_MAJOR}" >&2
  exit 1
fi

bash scripts/install-system-deps.sh "${test_deps[@]}"

echo "setup: npm ci (dependencies from package-lock.json, then the build into dist/)"
npm ci --no-audit --no-fund

echo "setup: done. Try: npx videochat demo    (or: npx videochat doctor)"
