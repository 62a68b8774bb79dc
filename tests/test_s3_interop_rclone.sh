#!/bin/sh
# test_s3_interop_rclone.sh — rclone's s3 backend (Debian's rclone 1.60, aws-sdk-go) against the
# S3 test server: mkdir, copy (a 12 MB file in 5 MB parts), ls, lsjson, cat, sync, check, delete,
# purge; retries through injected 503 SlowDown, 500 and a dropped connection to byte-exact results;
# bytes crossing with awscli both ways. Emits TAP. rclone missing is a failure, never a skip.

. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
echo "1..22"
command -v rclone >/dev/null 2>&1 || bail "rclone is not installed (Debian package rclone): this test needs it"
aws=/usr/bin/aws
test -x "$aws" || bail "awscli is not installed (Debian package awscli): this test needs it"
start_server
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"

# rclone configured from the environment only; nothing read from or written to ~/.config.
RCLONE_CONFIG_S3T_TYPE=s3
RCLONE_CONFIG_S3T_PROVIDER=Other
RCLONE_CONFIG_S3T_ENDPOINT=$url
RCLONE_CONFIG_S3T_REGION=us-east-1
RCLONE_CONFIG_S3T_FORCE_PATH_STYLE=true
RCLONE_S3_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY
RCLONE_S3_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
export RCLONE_CONFIG_S3T_TYPE RCLONE_CONFIG_S3T_PROVIDER RCLONE_CONFIG_S3T_ENDPOINT
export RCLONE_CONFIG_S3T_REGION RCLONE_CONFIG_S3T_FORCE_PATH_STYLE
export RCLONE_S3_ACCESS_KEY_ID RCLONE_S3_SECRET_ACCESS_KEY
: >"$work/rclone.conf"
rc() {
	rclone --config "$work/rclone.conf" --s3-upload-cutoff 5M --s3-chunk-size 5M \
		--low-level-retries 10 --retries 1 --contimeout 10s --timeout 60s "$@"
}

src=$work/src
mkdir -p "$src/sub/deeper" "$src/odd names"
for i in 1 2 3 4 5 6; do echo "small file number $i" >"$src/file$i.txt"; done
echo nested >"$src/sub/nested.txt"
echo deeper >"$src/sub/deeper/deep.txt"
echo plus >"$src/odd names/a b+c=d.txt"
echo unicode >"$src/odd names/caf$(printf '\303\251').txt"
head -c 12000000 /dev/urandom >"$src/large.bin"

check "rclone mkdir makes the bucket" rc mkdir s3t:rclone-bucket
check "rclone copy uploads a folder of small files and a 12 MB file" rc copy "$src" s3t:rclone-bucket/copy1
parts=$(counter UploadPart calls)
if test "$parts" -eq 3 && test "$(counter CompleteMultipartUpload calls)" -eq 1; then
	ok "the 12 MB file went up in 3 parts"
else
	not_ok "the 12 MB file went up in 3 parts ($(control counters | tr '\n' ';'))"
fi
puts=$(($(counter PutObject calls) + $(counter UploadPart calls)))
if rc copy "$src" s3t:rclone-bucket/copy1 >"$work/recopy.out" 2>&1 &&
	test "$(($(counter PutObject calls) + $(counter UploadPart calls)))" -eq "$puts"; then
	ok "a second rclone copy uploads nothing (sizes and modification times round-trip)"
else
	not_ok "a second rclone copy uploads nothing"; sed 's/^/# /' "$work/recopy.out" | tail -n 10
fi
(cd "$src" && find . -type f -printf '%s %P\n' | sort) >"$work/expected.ls"
if rc ls s3t:rclone-bucket/copy1 >"$work/ls.raw" 2>"$work/ls.err" &&
	sed 's/^ *//' "$work/ls.raw" | sort >"$work/actual.ls" && cmp -s "$work/expected.ls" "$work/actual.ls"; then
	ok "rclone ls lists every file with its size"
else
	not_ok "rclone ls lists every file with its size"; diff "$work/expected.ls" "$work/actual.ls" | sed 's/^/# /'
fi
check "rclone lsjson lists the subfolders as directories" sh -c "
	rclone --config '$work/rclone.conf' lsjson s3t:rclone-bucket/copy1 >'$work/ls.json' &&
	grep -q '\"Path\":\"sub\".*\"IsDir\":true' '$work/ls.json' && grep -q '\"Path\":\"large.bin\".*\"Size\":12000000' '$work/ls.json'"
check "rclone check: every file matches (sizes and MD5s)" rc check "$src" s3t:rclone-bucket/copy1
check "rclone cat of a small file" sh -c "test \"\$(rclone --config '$work/rclone.conf' cat s3t:rclone-bucket/copy1/sub/nested.txt)\" = nested"
check "rclone copy downloads the folder" rc copy s3t:rclone-bucket/copy1 "$work/down"
check "the downloaded folder is byte-for-byte the uploaded one" diff -r "$src" "$work/down"

# ---- sync with a deletion and a change ----
rm "$src/file1.txt"
echo changed >"$src/file2.txt"
check "rclone sync mirrors a deletion and a change" rc sync "$src" s3t:rclone-bucket/copy1
check "rclone check after the sync" rc check "$src" s3t:rclone-bucket/copy1

# ---- faults ----
control reset >/dev/null
control "fail?op=PutObject&status=503&code=SlowDown&count=2" >/dev/null
control "fail?op=UploadPart&status=500&count=1" >/dev/null
control "drop?op=GetObject&count=1" >/dev/null
head -c 11000000 /dev/urandom >"$work/retry.bin"
echo "retried small" >"$work/retry.txt"
check "rclone copyto retries a small file through two 503 SlowDown" rc copyto "$work/retry.txt" s3t:rclone-bucket/faults/retry.txt
check "rclone copyto retries a multipart file through a 500 on a part" rc copyto "$work/retry.bin" s3t:rclone-bucket/faults/retry.bin
check "rclone copyto downloads through a dropped connection" rc copyto s3t:rclone-bucket/faults/retry.bin "$work/retry.back"
same "after the retries the bytes are exact" "$work/retry.bin" "$work/retry.back"
if test "$(counter PutObject injected)" -eq 2 && test "$(counter UploadPart injected)" -eq 1 &&
	test "$(counter GetObject injected)" -eq 1; then
	ok "every injected fault was met (2 SlowDown, 1 InternalError, 1 drop)"
else
	not_ok "every injected fault was met ($(control counters | tr '\n' ';'))"
fi

# ---- crossing with awscli ----
check "awscli downloads rclone's multipart upload" "$aws" --endpoint-url "$url" s3 cp s3://rclone-bucket/faults/retry.bin "$work/by-aws.bin"
same "rclone's bytes reached awscli byte-for-byte" "$work/retry.bin" "$work/by-aws.bin"
head -c 7000000 /dev/urandom >"$work/from-aws.bin"
"$aws" --endpoint-url "$url" s3 cp "$work/from-aws.bin" s3://rclone-bucket/cross/from-aws.bin >/dev/null 2>&1
check "rclone copyto downloads awscli's multipart upload" rc copyto s3t:rclone-bucket/cross/from-aws.bin "$work/from-aws.back"
same "awscli's bytes reached rclone byte-for-byte" "$work/from-aws.bin" "$work/from-aws.back"

check "rclone purge removes the bucket and everything in it" rc purge s3t:rclone-bucket
exit $((failed > 0))
