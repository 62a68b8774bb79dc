#!/bin/sh
# test_b2_cli_tool.sh — Backblaze's b2 command line tool 1.3.8 (Debian backblaze-b2) against the B2
# test server, its realm pointed there by tests/b2_cli_realm.py. Emits TAP. The tool missing is a
# failure, never a skip (CI installs it). stor works beside it on the same server, each reading
# what the other wrote: buckets, file info, content types, headers, share links.
. "${STOR_TEST_SRCDIR:-.}/tests/interop_lib.sh"

plan=26
echo "1..$plan"
python=/usr/bin/python3
$python -c 'import b2.console_tool' 2>/dev/null ||
	bail "the b2 tool is not installed (Debian package backblaze-b2): this test needs it"
start_server cli-account cli-master-key
export B2_TEST_REALM=$url B2_ACCOUNT_INFO=$work/account.sqlite HOME=$work
unset B2_APPLICATION_KEY_ID B2_APPLICATION_KEY
b2() { $python "${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py" "$@"; }
# stor as the same account, as a function and as a command line for the checks that pipe.
stor_line="env B2_APPLICATION_KEY_ID='$key_id' B2_APPLICATION_KEY='$key' '$builddir/stor' --backend=b2 -o endpoint='$url' -o cache=no"
stor() { sh -c "$stor_line \"\$@\"" stor "$@"; }

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

check "stor mb makes a bucket b2 lists" sh -c \
	"$stor_line mb stor-made && $python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' list-buckets | grep -q stor-made"
check "b2 upload-file with a content type and info" \
	b2 upload-file --noProgress --contentType text/x-from-b2 --info color=blue cli-bucket "$work/small" colored.bin
check "stor stat reads the b2 tool's content type and info" sh -c \
	"$stor_line stat cli-bucket/colored.bin >'$work/stat' &&
	 grep -qx 'content-type: *text/x-from-b2' '$work/stat' && grep -qx 'meta color: *blue' '$work/stat'"
check "stor put with a content type, info and a header" \
	stor --json put --content-type=text/x-from-stor --meta=owner=me --cache-control=max-age=5 "$work/small" cli-bucket/from-stor.bin
stor_id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$work/last.out" | head -n 1)
check "b2 get-file-info reads what stor kept" sh -c \
	"$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' get-file-info '$stor_id' >'$work/info' &&
	 grep -q '\"contentType\": \"text/x-from-stor\"' '$work/info' && grep -q '\"owner\": \"me\"' '$work/info' &&
	 grep -q '\"b2-cache-control\": \"max-age=5\"' '$work/info' && grep -q '\"src_last_modified_millis\"' '$work/info'"
check "stor share gives a URL curl fetches without credentials" sh -c \
	"url=\$($stor_line -q share cli-bucket/dir/small.bin) &&
	 curl -sf \"\$url\" -o '$work/via-share' && cmp '$work/small' '$work/via-share'"
check "stor mb --keep-old-versions shows in b2 get-bucket" sh -c \
	"$stor_line mb --keep-old-versions=7d stor-rules &&
	 $python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' get-bucket stor-rules | tr -d ' \n' | grep -q '\"daysFromHidingToDeleting\":7'"
check "b2 update-bucket --lifecycleRules shows in stor buckets -l" sh -c \
	"$python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' update-bucket --lifecycleRules '[{\"fileNamePrefix\": \"\", \"daysFromHidingToDeleting\": 3, \"daysFromUploadingToHiding\": null}]' stor-rules allPrivate >/dev/null &&
	 $stor_line buckets -l | grep stor-rules | grep -q 'keep_old_versions=3d'"
check "stor rb removes the bucket" stor rb stor-made
check "b2 list-buckets no longer shows it" sh -c \
	"! $python '${STOR_TEST_SRCDIR:-.}/tests/b2_cli_realm.py' list-buckets | grep -q stor-made"
check "b2 delete-file-version" b2 delete-file-version dir/small.bin "$file_id"
check "b2 list-unfinished-large-files (none)" b2 list-unfinished-large-files cli-bucket
test "$count" -eq "$plan" || not_ok "planned $plan checks, ran $count"
test "$failed" -eq 0
