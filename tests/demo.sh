#!/bin/sh
# make demo — the B2 plugin at work against the bundled B2 test server on loopback: start it,
# upload through `stor --backend=b2`, show the upload target (token redacted), list, download back
# and compare, show the requests the server counted, stop it.
set -eu
build=${STOR_BUILDDIR:-.}
src=${STOR_SRCDIR:-.}
stor="$build/stor"
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$build/tests/b2-server/b2-test-server" --port 0 --bucket demo-bucket \
  --key-id demo-key-id --key demo-application-key >"$work/server.out" &
server_pid=$!
tries=0
until port=$(head -n 1 "$work/server.out" 2>/dev/null) && [ -n "$port" ]; do
  tries=$((tries + 1)); [ "$tries" -lt 100 ] || { echo "demo: the B2 test server did not start" >&2; exit 1; }
  sleep 0.05
done
endpoint="http://127.0.0.1:$port"
echo "B2 test server on $endpoint (bucket demo-bucket)"

# Credentials through the environment, never the command line.
B2_APPLICATION_KEY_ID=demo-key-id B2_APPLICATION_KEY=demo-application-key \
STOR_B2_ENDPOINT=$endpoint STOR_CACHE_DIR="$work/cache"
export B2_APPLICATION_KEY_ID B2_APPLICATION_KEY STOR_B2_ENDPOINT STOR_CACHE_DIR

echo
echo "\$ stor --backend=b2 upload-target demo-bucket    # token redacted here"
"$stor" --backend=b2 upload-target demo-bucket |
  sed 's/"authorizationToken":"[^"]*"/"authorizationToken":"<redacted>"/'

echo
echo "\$ stor --backend=b2 put README.md demo-bucket/demo/README.md"
"$stor" --backend=b2 put "$src/README.md" demo-bucket/demo/README.md

echo
echo "\$ stor --backend=b2 ls -l demo-bucket/demo/"
"$stor" --backend=b2 ls -l demo-bucket/demo/

echo
echo "\$ stor --backend=b2 get demo-bucket/demo/README.md copy && cmp README.md copy"
"$stor" --backend=b2 get demo-bucket/demo/README.md "$work/copy"
cmp "$src/README.md" "$work/copy" && echo "identical: the SHA-1 checked out and the bytes match"

if command -v curl >/dev/null; then
  echo
  echo "requests the server counted: $(curl -s "$endpoint/_test/counters")"
fi
