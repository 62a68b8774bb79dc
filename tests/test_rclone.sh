#!/bin/sh
# test_rclone.sh — proof that the B2 test server speaks real B2: Debian's rclone (1.60) copies,
# lists, reads, checks and deletes through it, also while uploads fail and tokens expire; makes
# and removes buckets and shares a link.
# Emits TAP. Starts its own server on an ephemeral loopback port; no network beyond loopback.
# rclone missing is a failure, never a skip (CI installs it).

. "${STOR_TEST_SRCDIR:-.}/tests/interop_lib.sh"
plan=23

echo "1..$plan"
command -v rclone >/dev/null 2>&1 || bail "rclone is not installed (Debian package rclone): this test needs it"
command -v curl >/dev/null 2>&1 || bail "curl is not installed (Debian package curl): this test needs it"
bucket=rclone-bucket
start_server rclone-account rclone-master-key --bucket "$bucket"

control() { # control METHOD PATH [JSON]
	if test -n "$3"; then
		curl -sf -X "$1" -H 'Content-Type: application/json' -d "$3" "$url$2"
	else
		curl -sf -X "$1" "$url$2"
	fi
}
# counter API FIELD: one field of GET /_test/counters (0 when the call was not seen).
counter() {
	control GET /_test/counters | tr -d ' \n' |
		sed -n "s/.*\"$1\":{\\([^}]*\\)}.*/\\1/p" | tr ',' '\n' |
		sed -n "s/^\"$2\":\\([0-9]*\\)$/\\1/p" | grep . || echo 0
}

# rclone configured from the environment only; nothing read from or written to ~/.config.
RCLONE_CONFIG_STORB2_TYPE=b2
RCLONE_CONFIG_STORB2_ACCOUNT=$key_id
RCLONE_CONFIG_STORB2_KEY=$key
RCLONE_CONFIG_STORB2_ENDPOINT=$url
export RCLONE_CONFIG_STORB2_TYPE RCLONE_CONFIG_STORB2_ACCOUNT RCLONE_CONFIG_STORB2_KEY RCLONE_CONFIG_STORB2_ENDPOINT
: >"$work/rclone.conf"
rclone_run() {
	rclone --config "$work/rclone.conf" --b2-upload-cutoff 10M --b2-chunk-size 5M \
		--low-level-retries 20 --retries 1 --contimeout 10s --timeout 60s "$@"
}

# A folder of small files (names that need percent-encoding among them) and one 16 MB file.
src=$work/src
mkdir -p "$src/sub/deeper" "$src/odd names"
for i in $(seq 1 12); do
	echo "small file number $i" >"$src/file$i.txt"
done
echo "nested" >"$src/sub/nested.txt"
echo "deeper" >"$src/sub/deeper/deep.txt"
echo "plus" >"$src/odd names/a b+c.txt"
echo "unicode" >"$src/odd names/caf$(printf '\303\251').txt"
head -c 16000000 /dev/urandom >"$src/large.bin"

check "rclone copy uploads a folder of small files and a 16 MB file" \
	rclone_run copy "$src" "storb2:$bucket/copy1"

parts=$(counter b2_upload_part calls)
finished=$(counter b2_finish_large_file calls)
if test "$finished" -eq 1 && test "$parts" -ge 4; then
	ok "the 16 MB file went through the large-file calls ($parts parts, $finished finish)"
else
	not_ok "the 16 MB file went through the large-file calls (parts=$parts finish=$finished)"
fi

uploads_before=$(($(counter b2_upload_file calls) + $(counter b2_upload_part calls)))
if rclone_run copy "$src" "storb2:$bucket/copy1" >"$work/recopy.out" 2>&1 &&
	test "$(($(counter b2_upload_file calls) + $(counter b2_upload_part calls)))" -eq "$uploads_before"; then
	ok "a second rclone copy uploads nothing (sizes and modification times round-trip)"
else
	not_ok "a second rclone copy uploads nothing (sizes and modification times round-trip)"
	sed 's/^/# /' "$work/recopy.out" | tail -n 10
fi

(cd "$src" && find . -type f -printf '%s %P\n' | sort) >"$work/expected.ls"
if rclone_run ls "storb2:$bucket/copy1" >"$work/ls.raw" 2>"$work/ls.err" &&
	sed 's/^ *//' "$work/ls.raw" | sort >"$work/actual.ls" && cmp -s "$work/expected.ls" "$work/actual.ls"; then
	ok "rclone ls lists every file with its size"
else
	not_ok "rclone ls lists every file with its size"
	diff "$work/expected.ls" "$work/actual.ls" | sed 's/^/# /' | head -n 20
	sed 's/^/# /' "$work/ls.err" | tail -n 10
fi

check "rclone cat returns a small file's bytes" \
	sh -c "rclone --config '$work/rclone.conf' cat 'storb2:$bucket/copy1/odd names/a b+c.txt' | cmp - '$src/odd names/a b+c.txt'"
check "rclone cat returns the large file's bytes" \
	sh -c "rclone --config '$work/rclone.conf' cat 'storb2:$bucket/copy1/large.bin' | cmp - '$src/large.bin'"
check "rclone check finds no differences (sizes and SHA-1s)" \
	rclone_run check "$src" "storb2:$bucket/copy1"

check "rclone delete removes every file" rclone_run delete "storb2:$bucket/copy1"
if rclone_run ls "storb2:$bucket/copy1" >"$work/after.ls" 2>&1 && ! test -s "$work/after.ls"; then
	ok "rclone ls shows nothing after the delete"
else
	not_ok "rclone ls shows nothing after the delete"
	sed 's/^/# /' "$work/after.ls" | head -n 10
fi

# The copy again while the server misbehaves: every fourth upload answers 503 (four times), two
# part uploads 503, an upload and an upload-URL request say the token expired.
control POST /_test/reset >/dev/null
control POST /_test/fail '{"api":"b2_upload_file","status":503,"count":4,"every":4}' >/dev/null &&
	control POST /_test/fail '{"api":"b2_upload_part","status":503,"count":2}' >/dev/null &&
	control POST /_test/fail '{"api":"b2_upload_file","status":401,"code":"expired_auth_token","count":1}' >/dev/null &&
	control POST /_test/fail '{"api":"b2_get_upload_url","status":401,"code":"expired_auth_token","count":1}' >/dev/null ||
	bail "the control API refused a fault rule"
check "rclone copy succeeds while uploads fail (503) and tokens expire (401)" \
	rclone_run copy "$src" "storb2:$bucket/copy2"
check "rclone check agrees after the faulty copy" rclone_run check "$src" "storb2:$bucket/copy2"

injected_uploads=$(counter b2_upload_file injected)
injected_parts=$(counter b2_upload_part injected)
authorizations=$(counter b2_authorize_account calls)
if test "$injected_uploads" -ge 5 && test "$injected_parts" -eq 2 && test "$authorizations" -ge 2; then
	ok "the faults really happened ($injected_uploads upload and $injected_parts part failures, $authorizations authorizations)"
else
	not_ok "the faults really happened (uploads=$injected_uploads parts=$injected_parts authorizations=$authorizations)"
fi

# B2's own test header, sent by rclone's --b2-test-mode.
control POST /_test/reset >/dev/null
check "rclone copy with X-Bz-Test-Mode: fail_some_uploads" \
	rclone_run --b2-test-mode fail_some_uploads copy "$src" "storb2:$bucket/copy3"
test_mode_failures=$(counter b2_upload_file injected)
if test "$test_mode_failures" -ge 1; then
	ok "X-Bz-Test-Mode reached the server ($test_mode_failures uploads refused)"
else
	not_ok "X-Bz-Test-Mode reached the server (no upload refused)"
fi
check "rclone check agrees after fail_some_uploads" rclone_run check "$src" "storb2:$bucket/copy3"

# ---- server-side copy (b2_copy_file; b2_copy_part above --b2-copy-cutoff): nothing uploaded ----
control POST /_test/reset >/dev/null
if rclone_run copyto "storb2:$bucket/copy3/file1.txt" "storb2:$bucket/copied/file1.txt" &&
	test "$(counter b2_copy_file calls)" -eq 1 && test "$(counter b2_upload_file calls)" -eq 0; then
	ok "rclone copyto copies a small file server-side (b2_copy_file, no upload)"
else
	not_ok "rclone copyto copies a small file server-side (b2_copy_file, no upload)"
fi
control POST /_test/reset >/dev/null
check "rclone copyto copies the 16 MB file server-side in parts" \
	rclone_run --b2-copy-cutoff 5M copyto "storb2:$bucket/copy3/large.bin" "storb2:$bucket/copied/large.bin"
if test "$(counter b2_copy_part calls)" -ge 3 && test "$(counter b2_upload_part calls)" -eq 0 &&
	rclone --config "$work/rclone.conf" cat "storb2:$bucket/copied/large.bin" | cmp -s - "$src/large.bin"; then
	ok "the copied 16 MB file went through b2_copy_part and reads back byte for byte"
else
	not_ok "the copied 16 MB file went through b2_copy_part and reads back byte for byte"
fi

# ---- buckets and share links (b2_create_bucket, b2_delete_bucket, b2_get_download_authorization) ----
check "rclone mkdir makes a bucket" rclone_run mkdir storb2:rclone-made
check "rclone lsd lists it" sh -c "rclone --config '$work/rclone.conf' lsd storb2: | grep -q ' rclone-made\$'"
check "rclone rmdir removes the empty bucket" rclone_run rmdir storb2:rclone-made
check "rclone link gives a URL curl downloads without credentials" sh -c \
	"link=\$(rclone --config '$work/rclone.conf' link --expire 1h 'storb2:$bucket/copy3/file1.txt') &&
	 curl -sf \"\$link\" | cmp -s - '$src/file1.txt'"

kill "$server_pid"
if wait "$server_pid"; then
	ok "the server stops cleanly on SIGTERM"
else
	not_ok "the server stops cleanly on SIGTERM"
	sed 's/^/# /' "$work/server.err" | tail -n 10
fi
server_pid=

test "$count" -eq "$plan" || bail "ran $count checks, planned $plan"
test "$failed" -eq 0
