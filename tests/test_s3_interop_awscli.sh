#!/bin/sh
# test_s3_interop_awscli.sh — proof that the S3 test server speaks S3: Debian's awscli (2.9)
# makes buckets, puts, heads, lists, copies, deletes and uploads in parts through it (aws s3 and
# aws s3api), and retries through injected 503 SlowDown / 500 answers to byte-exact results;
# a wrong secret is refused. Emits TAP. Starts its own server on an ephemeral loopback port.
# awscli missing is a failure, never a skip (CI installs it).

. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
echo "1..44"
aws=/usr/bin/aws # Debian's awscli, not a pip one first on PATH
test -x "$aws" || bail "awscli is not installed (Debian package awscli): this test needs it"
start_server
# Multipart above 6 MB in 5 MB parts (awscli's smallest), path-style addressing, no retries
# beyond what the fault tests need.
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
region = us-east-1
max_attempts = 5
retry_mode = standard
s3 =
  multipart_threshold = 6MB
  multipart_chunksize = 5MB
  addressing_style = path
EOF
s3() { "$aws" --endpoint-url "$url" s3 "$@"; }
s3api() { "$aws" --endpoint-url "$url" --output json s3api "$@"; }

src=$work/src
mkdir -p "$src/sub/deeper" "$src/odd names"
for i in 1 2 3 4 5; do echo "small file $i" >"$src/file$i.txt"; done
echo nested >"$src/sub/nested.txt"
echo deeper >"$src/sub/deeper/deep.txt"
echo plus >"$src/odd names/a b+c=d~e.txt"
echo unicode >"$src/odd names/caf$(printf '\303\251').txt"
head -c 13000000 /dev/urandom >"$work/large.bin"

# ---- buckets ----
check "s3api create-bucket" s3api create-bucket --bucket awscli-one
refuse "creating it again is 409 BucketAlreadyOwnedByYou" BucketAlreadyOwnedByYou \
	s3api create-bucket --bucket awscli-one
refuse "a bad bucket name is InvalidBucketName" InvalidBucketName s3api create-bucket --bucket Bad_Name
check "s3 mb makes a second bucket" s3 mb s3://awscli-two
check "s3api head-bucket" s3api head-bucket --bucket awscli-two
check "s3 ls lists both buckets" sh -c "'$aws' --endpoint-url '$url' s3 ls | grep -q ' awscli-one\$' && '$aws' --endpoint-url '$url' s3 ls | grep -q ' awscli-two\$'"

# ---- single objects ----
printf 'hello, S3\n' >"$work/hello.txt"
md5=$(openssl md5 -binary "$work/hello.txt" | base64)
check "s3api put-object with Content-MD5, content type and metadata" \
	s3api put-object --bucket awscli-one --key "dir/hello world.txt" --body "$work/hello.txt" \
	--content-md5 "$md5" --content-type text/plain --metadata color=blue,Shape=round
check "s3api head-object answers size, type and metadata" sh -c "
	'$aws' --endpoint-url '$url' --output json s3api head-object --bucket awscli-one --key 'dir/hello world.txt' >'$work/head.json' &&
	grep -q '\"ContentLength\": 10' '$work/head.json' && grep -q '\"ContentType\": \"text/plain\"' '$work/head.json' &&
	grep -q '\"color\": \"blue\"' '$work/head.json' && grep -q '\"shape\": \"round\"' '$work/head.json'"
refuse "a wrong Content-MD5 is 400 BadDigest" BadDigest \
	s3api put-object --bucket awscli-one --key bad --body "$work/hello.txt" --content-md5 "1B2M2Y8AsgTpgAmY7PhCfg=="
check "s3api get-object --range bytes=7-8 answers 2 bytes" sh -c "
	'$aws' --endpoint-url '$url' s3api get-object --bucket awscli-one --key 'dir/hello world.txt' --range bytes=7-8 '$work/range.out' >'$work/range.json' &&
	test \"\$(cat '$work/range.out')\" = S3 && grep -q 'bytes 7-8/10' '$work/range.json'"
refuse "a range beyond the end is 416 InvalidRange" InvalidRange \
	s3api get-object --bucket awscli-one --key "dir/hello world.txt" --range bytes=100-200 "$work/none.out"
refuse "a missing key is NoSuchKey" NoSuchKey s3api get-object --bucket awscli-one --key nothing "$work/none.out"
refuse "a missing bucket is NoSuchBucket" NoSuchBucket s3api list-objects-v2 --bucket awscli-none

# ---- aws s3 cp / sync / ls / rm ----
check "s3 cp uploads a 13 MB file (multipart)" s3 cp "$work/large.bin" s3://awscli-one/big/large.bin
parts=$(counter UploadPart calls)
completes=$(counter CompleteMultipartUpload calls)
if test "$parts" -eq 3 && test "$completes" -eq 1; then
	ok "the 13 MB file went up in 3 parts and one CompleteMultipartUpload"
else
	not_ok "the 13 MB file went up in 3 parts and one CompleteMultipartUpload (parts=$parts complete=$completes)"
fi
check "s3api head-object of it answers a multipart ETag (-3)" sh -c "
	'$aws' --endpoint-url '$url' --output json s3api head-object --bucket awscli-one --key big/large.bin | grep -q '\"ETag\": \"\\\\\"[0-9a-f]\\{32\\}-3\\\\\"\"'"
check "s3 cp downloads it (in ranged parts)" s3 cp s3://awscli-one/big/large.bin "$work/large.back"
same "the download is byte-for-byte the upload" "$work/large.bin" "$work/large.back"
check "s3 sync uploads a folder (names with spaces, +, =, ~ and UTF-8)" s3 sync "$src" s3://awscli-two/tree
(cd "$src" && find . -type f | sed 's|^\./||' | sort) >"$work/expected.keys"
check "s3 ls --recursive lists every file" sh -c "
	'$aws' --endpoint-url '$url' s3 ls --recursive s3://awscli-two/tree/ | sed 's/^.\{31\}tree\///' | sort >'$work/listed.keys' &&
	cmp '$work/expected.keys' '$work/listed.keys'"
puts_before=$(counter PutObject calls)
check "a second s3 sync uploads nothing" s3 sync "$src" s3://awscli-two/tree
if test "$(counter PutObject calls)" -eq "$puts_before"; then ok "no PutObject on the second sync"; else not_ok "no PutObject on the second sync"; fi
check "s3 sync downloads the tree again" s3 sync s3://awscli-two/tree "$work/back"
check "the downloaded tree is the uploaded one" diff -r "$src" "$work/back"

# ---- list-objects-v2: delimiter, pages ----
check "list-objects-v2 with a delimiter answers CommonPrefixes" sh -c "
	'$aws' --endpoint-url '$url' --output json s3api list-objects-v2 --bucket awscli-two --prefix tree/ --delimiter / >'$work/delim.json' &&
	grep -q '\"Prefix\": \"tree/sub/\"' '$work/delim.json' && grep -q '\"Prefix\": \"tree/odd names/\"' '$work/delim.json' &&
	grep -q '\"Key\": \"tree/file1.txt\"' '$work/delim.json' && ! grep -q 'nested' '$work/delim.json'"
lists_before=$(counter ListObjectsV2 calls)
check "list-objects-v2 in pages of 2 still lists all 9 keys" sh -c "
	'$aws' --endpoint-url '$url' --output text s3api list-objects-v2 --bucket awscli-two --page-size 2 --query 'Contents[].Key' | tr '\t' '\n' | grep -c . | grep -qx 9"
if test $(($(counter ListObjectsV2 calls) - lists_before)) -ge 5; then
	ok "the pages were 5 requests with continuation tokens"
else
	not_ok "the pages were 5 requests with continuation tokens ($(($(counter ListObjectsV2 calls) - lists_before)))"
fi

# ---- s3api multipart by hand ----
head -c 5242880 /dev/urandom >"$work/part1"
head -c 1000 /dev/urandom >"$work/part2"
upload=$(s3api create-multipart-upload --bucket awscli-one --key hand/made.bin --query UploadId --output text 2>"$work/err")
etag1=$(s3api upload-part --bucket awscli-one --key hand/made.bin --upload-id "$upload" --part-number 1 --body "$work/part1" --query ETag --output text 2>>"$work/err")
etag2=$(s3api upload-part --bucket awscli-one --key hand/made.bin --upload-id "$upload" --part-number 2 --body "$work/part2" --query ETag --output text 2>>"$work/err")
if test -n "$upload" && test -n "$etag1" && test -n "$etag2"; then ok "create-multipart-upload and two upload-part"; else not_ok "create-multipart-upload and two upload-part"; sed 's/^/# /' "$work/err"; fi
check "list-parts lists both parts with their sizes" sh -c "
	'$aws' --endpoint-url '$url' --output text s3api list-parts --bucket awscli-one --key hand/made.bin --upload-id '$upload' --query 'Parts[].[PartNumber,Size]' | tr -s '\t\n' '  ' | grep -q '^1 5242880 2 1000 *\$'"
printf '{"Parts":[{"PartNumber":2,"ETag":%s},{"PartNumber":1,"ETag":%s}]}' "$etag2" "$etag1" >"$work/wrong-order.json"
refuse "complete with the parts out of order is InvalidPartOrder" InvalidPartOrder \
	s3api complete-multipart-upload --bucket awscli-one --key hand/made.bin --upload-id "$upload" --multipart-upload "file://$work/wrong-order.json"
printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' "$etag1" "$etag2" >"$work/parts.json"
check "complete-multipart-upload" s3api complete-multipart-upload --bucket awscli-one --key hand/made.bin --upload-id "$upload" --multipart-upload "file://$work/parts.json"
cat "$work/part1" "$work/part2" >"$work/made.expected"
s3api get-object --bucket awscli-one --key hand/made.bin "$work/made.back" >/dev/null 2>&1
same "the completed object is both parts in order" "$work/made.expected" "$work/made.back"
aborted=$(s3api create-multipart-upload --bucket awscli-one --key hand/aborted.bin --query UploadId --output text 2>/dev/null)
check "list-multipart-uploads shows the open upload" sh -c "
	'$aws' --endpoint-url '$url' --output text s3api list-multipart-uploads --bucket awscli-one --query 'Uploads[].UploadId' | grep -q '$aborted'"
check "abort-multipart-upload" s3api abort-multipart-upload --bucket awscli-one --key hand/aborted.bin --upload-id "$aborted"
refuse "the aborted upload is NoSuchUpload" NoSuchUpload \
	s3api list-parts --bucket awscli-one --key hand/aborted.bin --upload-id "$aborted"

# ---- copy, delete-objects ----
check "copy-object across buckets keeps the metadata" sh -c "
	'$aws' --endpoint-url '$url' s3api copy-object --bucket awscli-two --key copied.txt --copy-source 'awscli-one/dir/hello world.txt' >/dev/null &&
	'$aws' --endpoint-url '$url' --output json s3api head-object --bucket awscli-two --key copied.txt | grep -q '\"color\": \"blue\"'"
check "delete-objects removes two keys" sh -c "
	'$aws' --endpoint-url '$url' s3api delete-objects --bucket awscli-two --delete 'Objects=[{Key=copied.txt},{Key=tree/file1.txt}],Quiet=false' | grep -q copied.txt &&
	! '$aws' --endpoint-url '$url' s3 ls s3://awscli-two/copied.txt"

# ---- faults: awscli retries through 503 SlowDown and 500 ----
control reset >/dev/null
control "fail?op=PutObject&status=503&code=SlowDown&count=2" >/dev/null
control "fail?op=UploadPart&status=500&count=1" >/dev/null
check "s3 cp retries through two 503 SlowDown" s3 cp "$work/hello.txt" s3://awscli-one/retried.txt
check "s3 cp of the large file retries through a 500 on a part" s3 cp "$work/large.bin" s3://awscli-one/big/retried.bin
if test "$(counter PutObject injected)" -eq 2 && test "$(counter UploadPart injected)" -eq 1; then
	ok "the injected failures were answered (2 SlowDown, 1 InternalError)"
else
	not_ok "the injected failures were answered ($(control counters | tr '\n' ';'))"
fi
s3 cp s3://awscli-one/big/retried.bin "$work/retried.back" >/dev/null 2>&1
same "after the retries the large file is byte-exact" "$work/large.bin" "$work/retried.back"

# ---- refusals ----
refuse "a wrong secret is 403 SignatureDoesNotMatch" SignatureDoesNotMatch \
	env AWS_SECRET_ACCESS_KEY=not-the-secret "$aws" --endpoint-url "$url" s3api list-buckets
refuse "s3 rb of a non-empty bucket is BucketNotEmpty" BucketNotEmpty s3api delete-bucket --bucket awscli-two
check "s3 rm --recursive then s3 rb" sh -c "'$aws' --endpoint-url '$url' s3 rm --recursive s3://awscli-two >/dev/null && '$aws' --endpoint-url '$url' s3 rb s3://awscli-two"
exit $((failed > 0))
