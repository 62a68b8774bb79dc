#!/bin/sh
# test_s3_interop_boto3.sh — boto3 (Debian python3-boto3) against the S3 test server
# (tests/s3_boto3_interop.py: objects, ranges, paginators, multipart, copies, presigned URLs and
# hand-signed requests the server must refuse), and bytes crossing between boto3 and awscli both
# ways. Emits TAP (the plan last). python3-boto3 or awscli missing is a failure, never a skip.

. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
aws=/usr/bin/aws
"$python" -c 'import boto3' 2>/dev/null ||
	{ echo "1..1"; bail "boto3 is not installed (Debian package python3-boto3): this test needs it"; }
test -x "$aws" || { echo "1..1"; bail "awscli is not installed (Debian package awscli): this test needs it"; }
start_server --bucket boto3-cross
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
head -c 9000000 /dev/urandom >"$work/to-aws.bin"
head -c 3000000 /dev/urandom >"$work/to-boto3.bin"
"$aws" --endpoint-url "$url" s3 cp "$work/to-boto3.bin" s3://boto3-cross/from-aws.bin >"$work/aws.out" 2>&1 ||
	{ sed 's/^/# /' "$work/aws.out"; bail "awscli could not put the file for boto3"; }

"$python" "${STOR_TEST_SRCDIR:-.}/tests/s3_boto3_interop.py" "$url" "$work" 2>"$work/boto3.err"
read -r count python_failed <"$work/boto3.count" 2>/dev/null || { count=0; python_failed=1; }
failed=$python_failed
test -s "$work/boto3.err" && sed 's/^/# /' "$work/boto3.err" | tail -n 20
same "awscli's upload reached boto3 byte-for-byte" "$work/to-boto3.bin" "$work/from-aws.bin"
check "awscli downloads boto3's upload" "$aws" --endpoint-url "$url" s3 cp s3://boto3-cross/from-boto3.bin "$work/from-boto3.bin"
same "boto3's upload reached awscli byte-for-byte" "$work/to-aws.bin" "$work/from-boto3.bin"
if test "$(counter CompleteMultipartUpload calls)" -ge 3; then
	ok "boto3's upload_file went through multipart"
else
	not_ok "boto3's upload_file went through multipart ($(control counters | tr '\n' ';'))"
fi
echo "1..$count"
exit $((failed > 0))
