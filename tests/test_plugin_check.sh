#!/bin/sh
# test_plugin_check.sh — the conformance program stor-plugin-check against the two backends of
# the tree: local (in a scratch root) and b2 (against the B2 test server). Each must keep every
# promise of <stor/plugin.h>. Emits TAP: one line per backend, the program's report on failure.
. "${STOR_TEST_SRCDIR:-.}/tests/interop_lib.sh"

checker=$builddir/stor-plugin-check
echo "1..3"
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
test "$failed" -eq 0
