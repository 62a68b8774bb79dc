#!/bin/sh
# test_s3_interop_s3cmd.sh — s3cmd (Debian's, 2.3) against the S3 test server: mb, put (also in
# 5 MB parts), ls, du, get, sync, cp, mv, del, rb, with path-style addressing over plain HTTP;
# bytes crossing to awscli and back; a retry through an injected 503. Emits TAP. s3cmd missing is
# a failure, never a skip (CI installs it).

. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
echo "1..26"
command -v s3cmd >/dev/null 2>&1 || bail "s3cmd is not installed (Debian package s3cmd): this test needs it"
aws=/usr/bin/aws
test -x "$aws" || bail "awscli is not installed (Debian package awscli): this test needs it"
start_server
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
# Credentials from the environment (s3cmd reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the
# configuration file names no secret.
printf '[default]\nbucket_location = us-east-1\nsignature_v2 = False\nuse_https = False\nprogress_meter = False\n' >"$work/s3cfg"
s3c() {
	s3cmd -c "$work/s3cfg" --host="127.0.0.1:$port" --host-bucket="127.0.0.1:$port" --no-ssl \
		--region=us-east-1 "$@"
}

printf 'hello from s3cmd\n' >"$work/small.txt"
head -c 12000000 /dev/urandom >"$work/large.bin"
mkdir -p "$work/tree/sub" "$work/tree/odd dir"
for i in 1 2 3; do echo "file $i" >"$work/tree/f$i.txt"; done
echo nested >"$work/tree/sub/n.txt"
echo odd >"$work/tree/odd dir/a+b=c.txt"

check "s3cmd mb" s3c mb s3://s3cmd-bucket
s3c ls >"$work/ls.out" 2>&1
if grep -q 's3://s3cmd-bucket$' "$work/ls.out"; then ok "s3cmd ls lists the bucket"; else not_ok "s3cmd ls lists the bucket"; sed 's/^/# /' "$work/ls.out"; fi
check "s3cmd put of a small file" s3c put "$work/small.txt" s3://s3cmd-bucket/docs/small.txt
check "s3cmd put of a 12 MB file in 5 MB parts" s3c put --multipart-chunk-size-mb=5 "$work/large.bin" s3://s3cmd-bucket/big/large.bin
if test "$(counter UploadPart calls)" -eq 3 && test "$(counter CompleteMultipartUpload calls)" -eq 1; then
	ok "it went up as 3 parts and one CompleteMultipartUpload"
else
	not_ok "it went up as 3 parts and one CompleteMultipartUpload ($(control counters | tr '\n' ';'))"
fi
check "s3cmd get of the large file" s3c get s3://s3cmd-bucket/big/large.bin "$work/large.back"
same "the download is byte-for-byte the upload" "$work/large.bin" "$work/large.back"
s3c ls s3://s3cmd-bucket/ >"$work/ls.out" 2>&1
if grep -q 'DIR *s3://s3cmd-bucket/docs/' "$work/ls.out" && grep -q 'DIR *s3://s3cmd-bucket/big/' "$work/ls.out"; then
	ok "s3cmd ls of the bucket shows the two directories"
else
	not_ok "s3cmd ls of the bucket shows the two directories"; sed 's/^/# /' "$work/ls.out"
fi
check "s3cmd sync uploads a tree (a name with space, + and =)" s3c sync "$work/tree/" s3://s3cmd-bucket/tree/
s3c ls --recursive s3://s3cmd-bucket/tree/ >"$work/ls.out" 2>&1
if test "$(grep -c 's3://s3cmd-bucket/tree/' "$work/ls.out")" -eq 5; then ok "s3cmd ls --recursive lists the 5 files"; else not_ok "s3cmd ls --recursive lists the 5 files"; sed 's/^/# /' "$work/ls.out"; fi
check "s3cmd sync downloads the tree" s3c sync s3://s3cmd-bucket/tree/ "$work/tree.back/"
check "the downloaded tree is the uploaded one" diff -r "$work/tree" "$work/tree.back"
s3c du s3://s3cmd-bucket/big/ >"$work/du.out" 2>&1
if grep -q '^ *12000000 ' "$work/du.out"; then ok "s3cmd du counts the bytes"; else not_ok "s3cmd du counts the bytes"; sed 's/^/# /' "$work/du.out"; fi
check "s3cmd cp copies an object" s3c cp s3://s3cmd-bucket/docs/small.txt s3://s3cmd-bucket/docs/copy.txt
check "s3cmd mv moves it" s3c mv s3://s3cmd-bucket/docs/copy.txt s3://s3cmd-bucket/docs/moved.txt
check "awscli reads what s3cmd moved" "$aws" --endpoint-url "$url" s3 cp s3://s3cmd-bucket/docs/moved.txt "$work/moved.back"
same "s3cmd's bytes reached awscli byte-for-byte" "$work/small.txt" "$work/moved.back"
head -c 2000000 /dev/urandom >"$work/from-aws.bin"
check "awscli puts a file for s3cmd" "$aws" --endpoint-url "$url" s3 cp "$work/from-aws.bin" s3://s3cmd-bucket/cross/from-aws.bin
check "s3cmd gets what awscli put" s3c get s3://s3cmd-bucket/cross/from-aws.bin "$work/from-aws.back"
same "awscli's bytes reached s3cmd byte-for-byte" "$work/from-aws.bin" "$work/from-aws.back"
control "fail?op=PutObject&status=503&code=SlowDown&count=1" >/dev/null
check "s3cmd put retries through a 503 SlowDown" s3c put "$work/small.txt" s3://s3cmd-bucket/retried.txt
if test "$(counter PutObject injected)" -eq 1; then ok "the 503 was answered once"; else not_ok "the 503 was answered once ($(control counters | tr '\n' ';'))"; fi
check "s3cmd del removes a file" s3c del s3://s3cmd-bucket/retried.txt
s3c ls s3://s3cmd-bucket/retried.txt >"$work/ls.out" 2>&1
if ! grep -q retried "$work/ls.out"; then ok "the deleted file is not listed"; else not_ok "the deleted file is not listed"; fi
refuse "s3cmd rb of a non-empty bucket is refused (BucketNotEmpty)" BucketNotEmpty s3c rb s3://s3cmd-bucket
check "s3cmd del --recursive --force, then rb" sh -c '"$@" del --recursive --force s3://s3cmd-bucket/ && "$@" rb s3://s3cmd-bucket' \
	sh s3cmd -c "$work/s3cfg" --host="127.0.0.1:$port" --host-bucket="127.0.0.1:$port" --no-ssl --region=us-east-1
exit $((failed > 0))
