# tests/s3_interop_lib.sh — shared by the S3 interop scripts (awscli, s3cmd, boto3, rclone): TAP
# helpers and an S3 test server of their own on an ephemeral loopback port, stopped whatever
# happens; HOME and every client's configuration point into a temporary directory. Sourced.

builddir=${STOR_TEST_BUILDDIR:-.}
srcdir=${STOR_TEST_SRCDIR:-.}
server=${S3_TEST_SERVER:-$builddir/tests/s3-server/s3-test-server}
python=/usr/bin/python3 # Debian's, where python3-boto3 lives (not a pyenv one first on PATH)
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
# refuse "description" pattern command...: ok when the command fails and its output matches.
refuse() {
	description=$1
	pattern=$2
	shift 2
	if "$@" >"$work/last.out" 2>&1; then
		not_ok "$description (it succeeded)"
	elif grep -q -- "$pattern" "$work/last.out"; then
		ok "$description"
	else
		not_ok "$description (no '$pattern' in the answer)"
		sed 's/^/# /' "$work/last.out" | tail -n 30
	fi
}
# same "description" FILE FILE: ok when both exist and are byte-for-byte equal.
same() {
	if test -f "$2" && test -f "$3" && cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		ls -l "$2" "$3" 2>&1 | sed 's/^/# /'
	fi
}

# control PATH?QUERY: the server's unsigned control path.
control() {
	curl -sf "$url/__control/$1"
}
# counter OPERATION FIELD (calls|failures|injected): 0 when the operation was not seen.
counter() {
	control counters | awk -v op="$1" -v field="$2" '
		$1 == op { print (field == "calls" ? $2 : field == "failures" ? $3 : $4); found = 1 }
		END { if (!found) print 0 }'
}

# start_server [server options...]: sets $work, $url, $port, the credentials in the environment
# (S3_TEST_ACCESS_KEY/S3_TEST_SECRET_KEY for the server, AWS_* for the clients); the server dies
# with the script.
start_server() {
	test -x "$server" || bail "no server binary at $server (run make first)"
	command -v curl >/dev/null 2>&1 || bail "curl is not installed (Debian package curl): this test needs it"
	work=$(mktemp -d "${TMPDIR:-/tmp}/stor-s3-interop.XXXXXX") || bail "mktemp failed"
	server_pid=
	trap 'if test -n "$server_pid"; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
	trap 'exit 1' INT TERM HUP PIPE
	S3_TEST_ACCESS_KEY=AKIASTORTEST0000KEY1
	S3_TEST_SECRET_KEY=stor+test/secret=key0123456789abcdefABCDEF
	export S3_TEST_ACCESS_KEY S3_TEST_SECRET_KEY
	lifeline=
	command -v setpriv >/dev/null 2>&1 && lifeline="setpriv --pdeathsig KILL --"
	$lifeline "$server" --port 0 "$@" >"$work/port" 2>"$work/server.err" &
	server_pid=$!
	port=
	for _ in $(seq 1 100); do
		port=$(head -n 1 "$work/port" 2>/dev/null)
		test -n "$port" && break
		sleep 0.1
	done
	test -n "$port" || bail "the server printed no port: $(cat "$work/server.err")"
	url=http://127.0.0.1:$port
	# No user configuration leaks in, none is written.
	HOME=$work/home
	mkdir -p "$HOME"
	AWS_CONFIG_FILE=$work/aws-config
	AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials
	AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY
	AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
	AWS_DEFAULT_REGION=us-east-1
	AWS_REGION=us-east-1
	AWS_EC2_METADATA_DISABLED=true
	AWS_PAGER=
	export HOME AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	export AWS_DEFAULT_REGION AWS_REGION AWS_EC2_METADATA_DISABLED AWS_PAGER
	# AWS_CA_BUNDLE too: aws-sdk-go (rclone) refuses its plain-HTTP transport when one is set.
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_CA_BUNDLE
	: >"$AWS_CONFIG_FILE"
	: >"$AWS_SHARED_CREDENTIALS_FILE"
}
