#!/bin/sh
# test_plugin_check.sh — the conformance program stor-plugin-check against the two backends of
# the tree: local (in a scratch root) and b2 (against the B2 test server), and the kit's example
# plugin. Each must keep every promise of <stor/plugin.h>; and each fixture breaking one promise
# (tests/fixtures/broken.c) must fail, with that promise named. TAP: one line per plugin, the
# program's report on failure.
. "${STOR_TEST_SRCDIR:-.}/tests/interop_lib.sh"

checker=$builddir/stor-plugin-check
echo "1..8"
test -x "$checker" || bail "no $checker (run make first)"
start_server check-account check-key --bucket stor-check

mkdir "$work/root"
check "stor-plugin-check passes for local" \
	"$checker" "$builddir/plugins/local/.libs/local.so" -o root="$work/root"
leftover=$(find "$work/root/stor-check" -type f | wc -l)
if test "$leftover" -eq 0; then ok "stor-plugin-check removes what it stored"
else not_ok "stor-plugin-check left $leftover files behind in local"; fi

check "stor-plugin-check passes for b2 on the test server" \
	env HOME="$work" B2_APPLICATION_KEY_ID="$key_id" B2_APPLICATION_KEY="$key" \
	"$checker" "$builddir/plugins/b2/.libs/b2.so" -o endpoint="$url" -o cache=no

check "stor-plugin-check passes for the kit's example (memory)" \
	"$checker" "$builddir/kit/example/.libs/memory.so"

# fails_naming FIXTURE PROMISE: the checker exits 1 and reports exactly that promise as broken.
fails_naming() {
	"$checker" "$builddir/tests/fixtures/broken/.libs/$1.so" >"$work/broken.out" 2>&1
	code=$?
	if test "$code" -eq 1 && grep -q "^not ok - $2" "$work/broken.out" &&
		tail -n 1 "$work/broken.out" | grep -q '^[0-9]* passed, [1-9][0-9]* failed$'; then
		ok "stor-plugin-check fails the $1 fixture, naming: $2"
	else
		not_ok "stor-plugin-check fails the $1 fixture, naming: $2 (exit $code)"
		sed 's/^/# /' "$work/broken.out" | grep -v '^# ok' | tail -n 20
	fi
}
fails_naming unsorted "a recursive listing comes in ascending byte order"
fails_naming put_without_result "put of 1 bytes reports the stored object once"
fails_naming not_found "get of a missing object is STOR_ENOTFOUND"
fails_naming capability "share reports one URL expiring when asked"
test "$failed" -eq 0
