#!/bin/sh
# test_b2_cli_tool.sh — Backblaze's b2 command line tool 1.3.8 (Debian backblaze-b2) against the B2
# test server, its realm pointed there by tests/b2_cli_realm.py. Emits TAP. The tool missing is a
# failure, never a skip (CI installs it).
. "${STOR_TEST_SRCDIR:-.}/tests/interop_lib.sh"

plan=16
echo "1..$plan"
python=/usr/bin/python3
$python -c 'import b2.console_tool' 2>/dev/null ||
	bail "the b2 tool is not installed (Debian package backblaze-b2): this test needs it"
start_server cli-account cli-master-key
export B2_TEST_REALM=$url B2_ACCOUNT_INFO=$work/account.sqlite HOME=$work
unset B2_APPLICATION_KEY_ID B2_APPLICATION_KEY
b2() { $python "${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py" "$@"; }

check "b2 authorize-account" b2 authorize-account "$key_id" "$key"
check "b2 create-bucket" b2 create-bucket cli-bucket allPrivate
check "b2 list-buckets shows it" sh -c "$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' list-buckets | grep -q cli-bucket"
head -c 300000 /dev/urandom >"$work/small"
check "b2 upload-file" b2 upload-file --noProgress cli-bucket "$work/small" "dir/small.bin"
file_id=$(sed -n 's/.*"fileId": "\([^"]*\)".*/\1/p' "$work/last.out" | head -n 1)
check "b2 download-file-by-name gives the same bytes" sh -c \
	"$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' download-file-by-name --noProgress cli-bucket dir/small.bin '$work/by-name' && cmp '$work/small' '$work/by-name'"
check "b2 download-file-by-id gives the same bytes" sh -c \
	"$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' download-file-by-id --noProgress '$file_id' '$work/by-id' && cmp '$work/small' '$work/by-id'"
check "b2 ls --recursive lists the file" sh -c "$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' ls --recursive cli-bucket | grep -qx dir/small.bin"
check "b2 upload-file with file info" b2 upload-file --noProgress --info color=blue cli-bucket "$work/small" copy.bin
check "b2 hide-file" b2 hide-file cli-bucket copy.bin
check "b2 ls --versions shows the hide marker" sh -c "$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' ls --long --versions cli-bucket | grep copy.bin | grep -q hide"
check "b2 get-file-info" sh -c "$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' get-file-info '$file_id' | grep -q '\"contentLength\": 300000'"
check "b2 get-download-auth" b2 get-download-auth --prefix dir/ --duration 600 cli-bucket
token=$(tail -n 1 "$work/last.out")
check "the download authorization reads a name under its prefix" sh -c \
	"curl -sf -H 'Authorization: $token' '$url/file/cli-bucket/dir/small.bin' -o '$work/shared' && cmp '$work/small' '$work/shared'"
check "and nothing outside it" sh -c \
	"test \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: $token' '$url/file/cli-bucket/copy.bin')\" = 401"
check "b2 delete-file-version" b2 delete-file-version dir/small.bin "$file_id"
check "b2 list-unfinished-large-files (none)" b2 list-unfinished-large-files cli-bucket
test "$count" -eq "$plan" || not_ok "planned $plan checks, ran $count"
test "$failed" -eq 0
