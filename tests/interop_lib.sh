# tests/interop_lib.sh — shared by the interop scripts (b2sdk, the b2 CLI): TAP helpers and a B2
# test server of their own on an ephemeral loopback port, stopped whatever happens. Sourced.

builddir=${STOR_TEST_BUILDDIR:-.}
server=${B2_TEST_SERVER:-$builddir/tests/b2-server/b2-test-server}
count=0
failed=0

ok() {
	count=$((count + 1))
	echo "ok $count - $1"
}
not_ok() {
	count=$((count + 1))
	failed=$((failed + 1))
	echo "not ok $count - $1"
}
bail() {
	echo "Bail out! $1"
	exit 1
}
# check "description" command...: ok when the command succeeds; its output is in $work/last.out.
check() {
	description=$1
	shift
	if "$@" >"$work/last.out" 2>&1; then
		ok "$description"
	else
		not_ok "$description"
		sed 's/^/# /' "$work/last.out" | tail -n 30
	fi
}

# start_server KEY_ID KEY [server options...]: sets $work, $url; the server dies with the script.
start_server() {
	test -x "$server" || bail "no server binary at $server (run make first)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/stor-interop.XXXXXX") || bail "mktemp failed"
	server_pid=
	trap 'if test -n "$server_pid"; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
	trap 'exit 1' INT TERM HUP PIPE
	key_id=$1
	key=$2
	shift 2
	lifeline=
	command -v setpriv >/dev/null 2>&1 && lifeline="setpriv --pdeathsig KILL --"
	$lifeline "$server" --port 0 --key-id "$key_id" --key "$key" "$@" >"$work/port" 2>"$work/server.err" &
	server_pid=$!
	port=
	for _ in $(seq 1 100); do
		port=$(head -n 1 "$work/port" 2>/dev/null)
		test -n "$port" && break
		sleep 0.1
	done
	test -n "$port" || bail "the server printed no port: $(cat "$work/server.err")"
	url=http://127.0.0.1:$port
}
