#!/bin/sh
# test_s3_cli.sh — stor --backend=s3 end to end against the S3 test server (path style): put, get,
# ls, stat, cp, mv, rm, share (fetched with curl), buckets, a multipart upload of a file and of a
# pipe, resume of an interrupted multipart upload, cleanup, faults (503/500 and a dropped
# connection retried to exact bytes; a permanent failure one line and its exit code, nothing
# written), the credential rules, stor-plugin-check, and bytes crossing with awscli and rclone's
# s3 backend both ways, stor sync between local: and s3:, and the -vvv trace keeping the session
# token and the signature out. Emits TAP.
. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
echo "1..112"
stor=$builddir/stor
test -x "$stor" || bail "no $stor (run make first)"
start_server --bucket stor-cli --min-part-size 1024
unset STOR_PLUGIN_PATH STOR_CONFIG XDG_CONFIG_HOME
STOR_CACHE_DIR=$work/cache
export STOR_CACHE_DIR
s3() { "$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 -o endpoint="$url" "$@"; }
# fails_with CODE "description" PATTERN command...: exit CODE, one line on stderr matching PATTERN.
fails_with() {
	want=$1 description=$2 pattern=$3
	shift 3
	"$@" >"$work/last.out" 2>"$work/last.err"
	code=$?
	lines=$(grep -c . "$work/last.err")
	if test "$code" -eq "$want" && test "$lines" -eq 1 && grep -q -- "$pattern" "$work/last.err"; then
		ok "$description"
	else
		not_ok "$description (exit $code, $lines lines)"
		sed 's/^/# /' "$work/last.err" | tail -n 10
	fi
}

head -c 300000 /dev/urandom >"$work/file"
printf 'hello s3\n' >"$work/small"
check "put a file" s3 put "$work/small" stor-cli/dir/small.txt
check "get it back" s3 get stor-cli/dir/small.txt "$work/small.back"
same "the small file comes back byte for byte" "$work/small" "$work/small.back"
check "put 300 KB" s3 put "$work/file" stor-cli/dir/file
check "ls one level shows the prefix" sh -c "'$stor' --plugin-dir '$builddir/plugins/s3/.libs' --backend=s3 -o endpoint='$url' ls stor-cli | grep -q 'dir/'"
s3 ls -r -l stor-cli/dir/ >"$work/ls.out" 2>&1
sha1=$(sha1sum "$work/file" | cut -c1-40)
if grep -q "dir/file.*$sha1" "$work/ls.out" && grep -q "dir/small.txt" "$work/ls.out"; then
	ok "ls -r -l lists both with the SHA-1 stor keeps"
else not_ok "ls -r -l lists both with the SHA-1 stor keeps"; sed 's/^/# /' "$work/ls.out"; fi
s3 stat stor-cli/dir/file >"$work/stat.out" 2>&1
if grep -q "^size: *300000" "$work/stat.out" && grep -q "^sha1: *$sha1" "$work/stat.out" &&
	grep -q "^md5: *$(md5sum "$work/file" | cut -c1-32)" "$work/stat.out"; then
	ok "stat reports size, SHA-1 and MD5"
else not_ok "stat reports size, SHA-1 and MD5"; sed 's/^/# /' "$work/stat.out"; fi
touch -d '2001-02-03 04:05:06.789' "$work/small"
check "put with metadata and an old mtime" s3 put --content-type=text/x-stor --meta=colour=blue \
	--cache-control=no-cache "$work/small" stor-cli/meta.txt
s3 stat stor-cli/meta.txt >"$work/stat.out" 2>&1
if grep -q "text/x-stor" "$work/stat.out" && grep -q "colour" "$work/stat.out" &&
	grep -q "no-cache" "$work/stat.out" && grep -q "2001-02-03T04:05:06" "$work/stat.out"; then
	ok "stat reads back content type, metadata, cache-control and mtime"
else not_ok "stat reads back content type, metadata, cache-control and mtime"; sed 's/^/# /' "$work/stat.out"; fi
check "get a range" s3 get --range=10-19 stor-cli/dir/file "$work/range"
dd if="$work/file" of="$work/range.want" bs=1 skip=10 count=10 2>/dev/null
same "the range holds bytes 10 to 19" "$work/range.want" "$work/range"
# a large get: parallel ranges, each held to the range asked and to the object, verified whole
# against the SHA-1 stor keeps; lies refused with nothing renamed into place; a resumed get
control reset >/dev/null
check "get 300 KB in ranges of 64 KiB, 3 at a time" s3 -o download_part_size=64K -o transfers=3 get stor-cli/dir/file "$work/ranges.back"
same "the ranges make the file byte for byte" "$work/file" "$work/ranges.back"
gets=$(counter GetObject calls)
if test "$gets" -eq 5; then ok "five ranged GetObject calls"; else not_ok "five ranged GetObject calls (got $gets)"; fi
# no_download NAME: neither NAME nor its partial file is left in $work.
no_download() {
	if test ! -e "$work/$1" && test -z "$(ls -A "$work" | grep -F "$1.stor-partial")"; then
		ok "$2: nothing left in place"
	else not_ok "$2: nothing left in place"; ls -la "$work" | sed 's/^/# /'; fi
}
control "lie?op=GetObject&what=range&skip=2" >/dev/null
fails_with 1 "a server answering another range is refused (exit 1)" "not accepted" \
	s3 -o download_part_size=64K -o transfers=3 get stor-cli/dir/file "$work/lied"
no_download lied "another range"
control reset >/dev/null
control "lie?op=GetObject&what=short&skip=1" >/dev/null
fails_with 1 "a range one byte short is refused (exit 1)" "not accepted" \
	s3 -o download_part_size=64K -o transfers=3 get stor-cli/dir/file "$work/short"
no_download short "a short range"
control reset >/dev/null
s3 put "$work/file" stor-cli/changing >/dev/null 2>&1
control "lie?op=GetObject&what=overwrite" >/dev/null
fails_with 1 "an object overwritten during the get is refused (exit 1)" "changed while it was being downloaded" \
	s3 -o download_part_size=64K -o transfers=3 get stor-cli/changing "$work/changed"
no_download changed "an overwritten object"
if test "$(counter GetObject failures)" -ge 1; then ok "the later ranges met If-Match's 412"
else not_ok "the later ranges met If-Match's 412"; fi
control reset >/dev/null
control "fail?op=GetObject&status=503&skip=2&count=-1" >/dev/null
fails_with 5 "a get failing for good after two ranges keeps them (exit 5)" "131072 bytes kept" \
	s3 -o retries=1 -o download_part_size=64K -o transfers=1 get stor-cli/dir/file "$work/resumed-get"
control reset >/dev/null
s3 -o download_part_size=64K -o transfers=1 get stor-cli/dir/file "$work/resumed-get" >"$work/resume-get.out" 2>&1
if grep -q "continued a partial download from byte 131072" "$work/resume-get.out" &&
	test "$(counter GetObject calls)" -eq 3; then ok "the same get again fetches only the rest (3 ranges)"
else not_ok "the same get again fetches only the rest (3 ranges)"; sed 's/^/# /' "$work/resume-get.out"; fi
same "the resumed get is byte for byte" "$work/file" "$work/resumed-get"
check "cp server-side" s3 cp stor-cli/dir/file stor-cli/copy
check "get the copy" s3 get stor-cli/copy "$work/copy.back"
same "the copy holds the bytes" "$work/file" "$work/copy.back"
# cp above copy_cutoff: UploadPartCopy parts, the source's metadata kept, aborted on failure
control reset >/dev/null
check "cp above copy_cutoff in UploadPartCopy parts" s3 -o copy_cutoff=100K -o part_size=64K cp stor-cli/meta.txt stor-cli/meta-small-copy
check "cp of 300 KB above copy_cutoff" s3 -o copy_cutoff=100K -o part_size=64K cp stor-cli/dir/file stor-cli/part-copy
if test "$(counter UploadPartCopy calls)" -eq 5 && test "$(counter CompleteMultipartUpload calls)" -eq 1 &&
	test "$(counter CopyObject calls)" -eq 1; then
	ok "five UploadPartCopy calls, one completion (and the small one a CopyObject)"
else not_ok "five UploadPartCopy calls, one completion ($(control counters | tr '\n' ';'))"; fi
check "get the part copy" s3 get stor-cli/part-copy "$work/part-copy.back"
same "the part copy holds the bytes" "$work/file" "$work/part-copy.back"
s3 stat stor-cli/part-copy >"$work/part-copy.stat" 2>&1
if grep -q "^sha1: *$sha1" "$work/part-copy.stat" && grep -q "^md5: *$(md5sum "$work/file" | cut -c1-32)" "$work/part-copy.stat"; then
	ok "the part copy carries the source's SHA-1 and MD5"
else not_ok "the part copy carries the source's SHA-1 and MD5"; sed 's/^/# /' "$work/part-copy.stat"; fi
control reset >/dev/null
control "fail?op=UploadPartCopy&status=400&code=InvalidRequest&skip=2" >/dev/null
fails_with 2 "a part copy refused fails the cp, one line" "aborted" \
	s3 -o copy_cutoff=100K -o part_size=64K cp stor-cli/dir/file stor-cli/never-copied
if test "$(counter AbortMultipartUpload calls)" -eq 1; then ok "the failed copy's upload was aborted"
else not_ok "the failed copy's upload was aborted"; fi
fails_with 3 "nothing was made of the failed copy" "not found" s3 stat stor-cli/never-copied
control reset >/dev/null
control "fail?op=UploadPartCopy&status=412&code=PreconditionFailed&skip=1" >/dev/null
fails_with 1 "a source overwritten during the copy (412 of its ETag) is refused" "source changed" \
	s3 -o copy_cutoff=100K -o part_size=64K cp stor-cli/dir/file stor-cli/never-copied
control reset >/dev/null
check "mv" s3 mv stor-cli/copy stor-cli/moved
fails_with 3 "the moved-away name is gone (exit 3)" "not found" s3 stat stor-cli/copy
check "rm" s3 rm stor-cli/moved
fails_with 3 "rm of a missing name is not found (exit 3)" "not found" s3 rm stor-cli/moved
fails_with 3 "get of a missing name is not found, nothing written" "not found" \
	s3 get stor-cli/nothing "$work/nothing"
if test ! -e "$work/nothing"; then ok "no file left by a failed get"; else not_ok "no file left by a failed get"; fi

# share: a presigned URL anyone can fetch
share_url=$(s3 share stor-cli/dir/file 2>/dev/null)
if curl -sf "$share_url" -o "$work/shared" && cmp -s "$work/file" "$work/shared"; then
	ok "share's presigned URL fetches the bytes with curl"
else not_ok "share's presigned URL fetches the bytes with curl ($share_url)"; fi
# Flip the signature's first hex digit to a different one (a fixed '0' would
# leave one signature in sixteen unchanged).
spoiled=$(printf '%s' "$share_url" | sed 's/X-Amz-Signature=0/X-Amz-Signature=Z/; s/X-Amz-Signature=[1-9a-f]/X-Amz-Signature=0/; s/X-Amz-Signature=Z/X-Amz-Signature=1/')
if test "$spoiled" != "$share_url" &&
	curl -s -o /dev/null -w '%{http_code}' "$spoiled" | grep -q 403; then
	ok "a spoiled share URL is refused"; else not_ok "a spoiled share URL is refused"; fi

# buckets
check "mb" s3 mb stor-new
s3 buckets >"$work/buckets" 2>&1
if grep -q stor-new "$work/buckets" && grep -q stor-cli "$work/buckets"; then ok "buckets lists both"
else not_ok "buckets lists both"; sed 's/^/# /' "$work/buckets"; fi
fails_with 2 "mb of an existing bucket says so" "exists already" s3 mb stor-new
s3 put "$work/small" stor-new/x >/dev/null 2>&1
fails_with 2 "rb of a bucket with objects says so" "not empty" s3 rb stor-new
s3 rm stor-new/x >/dev/null 2>&1
check "rb of the emptied bucket" s3 rb stor-new

# multipart: a file above the cutoff, and a pipe
control reset >/dev/null
check "put 300 KB as parts of 64 KiB" s3 -o upload_cutoff=100K -o part_size=64K put "$work/file" stor-cli/parts
parts=$(counter UploadPart calls)
if test "$parts" -eq 5; then ok "five UploadPart calls"; else not_ok "five UploadPart calls (got $parts)"; fi
check "get the multipart object" s3 get stor-cli/parts "$work/parts.back"
same "the multipart object comes back byte for byte" "$work/file" "$work/parts.back"
check "a pipe streamed in parts" sh -c "cat '$work/file' | '$stor' --plugin-dir '$builddir/plugins/s3/.libs' --backend=s3 -o endpoint='$url' -o part_size=64K put - stor-cli/piped"
check "get the piped object" s3 get stor-cli/piped "$work/piped.back"
same "the piped object comes back byte for byte" "$work/file" "$work/piped.back"

# resume: the upload's completion fails for good, the upload is kept with all its parts; the
# next put of the same file sends none of them again, only the completion
control reset >/dev/null
control "fail?op=CompleteMultipartUpload&status=400&code=InvalidPart&count=1" >/dev/null
fails_with 2 "a failed multipart put says how to resume" "run the same put again to resume" \
	s3 -o upload_cutoff=100K -o part_size=64K put "$work/file" stor-cli/resumed
control reset >/dev/null
s3 -o upload_cutoff=100K -o part_size=64K put "$work/file" stor-cli/resumed >"$work/resume.out" 2>&1
if grep -q "resumed: 5 of 5 parts already uploaded" "$work/resume.out"; then ok "the same put again resumes"
else not_ok "the same put again resumes"; sed 's/^/# /' "$work/resume.out"; fi
parts=$(counter UploadPart calls)
if test "$parts" -eq 0; then ok "the resumed put sent no part again"
else not_ok "the resumed put sent no part again (sent $parts)"; fi
check "get the resumed object" s3 get stor-cli/resumed "$work/resumed.back"
same "the resumed object comes back byte for byte" "$work/file" "$work/resumed.back"

# resume=no aborts an unfinished upload and starts again
control "fail?op=CompleteMultipartUpload&status=400&code=InvalidPart&count=1" >/dev/null
s3 -o upload_cutoff=100K -o part_size=64K put "$work/file" stor-cli/again >/dev/null 2>&1
control reset >/dev/null
check "resume=no puts afresh" s3 -o upload_cutoff=100K -o part_size=64K -o resume=no put "$work/file" stor-cli/again
if test "$(counter AbortMultipartUpload calls)" -eq 1 && test "$(counter UploadPart calls)" -eq 5; then
	ok "resume=no aborted the old upload and sent every part"
else not_ok "resume=no aborted the old upload and sent every part"; fi
control reset >/dev/null

# cleanup: an unfinished upload is listed, then aborted
control "fail?op=CompleteMultipartUpload&status=400&code=InvalidPart&count=1" >/dev/null
s3 -o upload_cutoff=100K -o part_size=64K -o resume=yes put "$work/file" stor-cli/orphan >/dev/null 2>&1
control reset >/dev/null
s3 cleanup --dry-run stor-cli >"$work/cleanup.out" 2>&1
if grep -q orphan "$work/cleanup.out"; then ok "cleanup --dry-run lists the unfinished upload"
else not_ok "cleanup --dry-run lists the unfinished upload"; sed 's/^/# /' "$work/cleanup.out"; fi
check "cleanup aborts it" s3 cleanup stor-cli
aborts=$(counter AbortMultipartUpload calls)
if test "$aborts" -ge 1; then ok "AbortMultipartUpload was called"; else not_ok "AbortMultipartUpload was called"; fi

# faults: retried to exact bytes; a permanent failure is one line with its exit code
control reset >/dev/null
control "fail?op=PutObject&status=503&code=SlowDown&count=2" >/dev/null
check "put through two 503 SlowDown" s3 put "$work/file" stor-cli/retried
control "fail?op=GetObject&status=500&count=1" >/dev/null
control "drop?op=GetObject&count=1" >/dev/null
check "get through a 500 and a dropped connection" s3 get stor-cli/retried "$work/retried.back"
same "the retried object comes back byte for byte" "$work/file" "$work/retried.back"
# Past the file size limit (ulimit -f 2000: 1,000 KiB) a get of 3 MiB, several gathered writes
# of 256 KiB, is one line naming the reason (not SIGXFSZ), with nothing left behind.
head -c 3145728 /dev/urandom >"$work/three-mib"
check "put 3 MiB" s3 put "$work/three-mib" stor-cli/limit/big
mkdir -p "$work/limited"
fails_with 1 "a get past ulimit -f is one line (exit 1)" "File too large" \
	sh -c "ulimit -f 2000; exec \"\$0\" --plugin-dir \"\$1\" --backend=s3 -o endpoint=\"\$2\" -q get stor-cli/limit/big \"\$3/single\"" \
	"$stor" "$builddir/plugins/s3/.libs" "$url" "$work/limited"
sh -c "ulimit -f 2000; exec \"\$0\" --plugin-dir \"\$1\" --backend=s3 -o endpoint=\"\$2\" -q get -r stor-cli/limit/ \"\$3/tree\"" \
	"$stor" "$builddir/plugins/s3/.libs" "$url" "$work/limited" >"$work/last.out" 2>"$work/last.err"
if test $? -eq 7 && grep -q "File too large" "$work/last.err"; then ok "get -r past ulimit -f: exit 7 naming the reason"
else not_ok "get -r past ulimit -f: exit 7 naming the reason"; sed 's/^/# /' "$work/last.err"; fi
if test -z "$(find "$work/limited" -type f)"; then ok "nothing left of the downloads past the limit"
else not_ok "nothing left of the downloads past the limit"; find "$work/limited" | sed 's/^/# /'; fi
control "fail?op=PutObject&status=503&code=SlowDown&count=-1" >/dev/null
fails_with 5 "503 for good: exit 5 after the retries, one line" "SlowDown" \
	s3 -o retries=2 put "$work/small" stor-cli/never
control reset >/dev/null
fails_with 3 "nothing half-written by the failed put" "not found" s3 stat stor-cli/never
fails_with 4 "a wrong secret: exit 4 naming the secret" "secret" \
	env AWS_SECRET_ACCESS_KEY=wrong "$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 -o endpoint="$url" ls stor-cli
fails_with 2 "a region the server does not take is one line naming the region" "region" \
	s3 -o region=eu-west-3 ls stor-cli
fails_with 2 "-o secret_key= is refused" "refused" s3 -o secret_key=x ls stor-cli
printf '%s\n%s\n' "$S3_TEST_ACCESS_KEY" "$S3_TEST_SECRET_KEY" >"$work/keyfile"
chmod 600 "$work/keyfile"
check "-o key_file works without the environment" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	"$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 -o endpoint="$url" -o key_file="$work/keyfile" ls stor-cli
printf '[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_TEST_ACCESS_KEY" \
	"$S3_TEST_SECRET_KEY" >"$AWS_SHARED_CREDENTIALS_FILE"
check "-o profile reads ~/.aws/credentials" env AWS_SECRET_ACCESS_KEY=wrong \
	"$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 -o endpoint="$url" -o profile=other ls stor-cli
# -vvv traces the HTTP exchange: the session token is sent, and shown only as <redacted>
# (plugins/common's transport blanks the secret headers s3's plugin.c names, and Authorization).
token=stor-test-session-token-5f3a9c
env AWS_SESSION_TOKEN=$token "$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 \
	-o endpoint="$url" -vvv stat stor-cli/dir/small.txt >"$work/trace.out" 2>&1
if grep -qi "> X-Amz-Security-Token: <redacted>" "$work/trace.out"; then
	ok "the trace shows the session token header, redacted"
else not_ok "the trace shows the session token header, redacted"; tail -n 20 "$work/trace.out" | sed 's/^/# /'; fi
if grep -q "Authorization: <redacted>" "$work/trace.out" && ! grep -q "$token" "$work/trace.out"; then
	ok "the trace never shows the session token or the signature"
else not_ok "the trace never shows the session token or the signature"; grep -n "$token\|Authorization" "$work/trace.out" | sed 's/^/# /'; fi

# interop: awscli and rclone read what stor wrote; stor reads what they wrote
aws=/usr/bin/aws
if test -x "$aws" && "$aws" --endpoint-url "$url" s3 cp s3://stor-cli/parts "$work/aws.back" >/dev/null 2>&1 &&
	cmp -s "$work/file" "$work/aws.back"; then ok "aws s3 cp reads stor's multipart object byte for byte"
else not_ok "aws s3 cp reads stor's multipart object byte for byte"; fi
if test -x "$aws" && "$aws" --endpoint-url "$url" s3 cp "$work/file" s3://stor-cli/from-aws >/dev/null 2>&1 &&
	s3 get stor-cli/from-aws "$work/from-aws.back" >/dev/null 2>&1 && cmp -s "$work/file" "$work/from-aws.back"; then
	ok "stor reads what aws s3 cp wrote byte for byte"
else not_ok "stor reads what aws s3 cp wrote byte for byte"; fi
RCLONE_CONFIG_S3T_TYPE=s3 RCLONE_CONFIG_S3T_PROVIDER=Other RCLONE_CONFIG_S3T_ENDPOINT=$url \
RCLONE_CONFIG_S3T_REGION=us-east-1 RCLONE_CONFIG_S3T_FORCE_PATH_STYLE=true \
RCLONE_S3_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY RCLONE_S3_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
export RCLONE_CONFIG_S3T_TYPE RCLONE_CONFIG_S3T_PROVIDER RCLONE_CONFIG_S3T_ENDPOINT
export RCLONE_CONFIG_S3T_REGION RCLONE_CONFIG_S3T_FORCE_PATH_STYLE RCLONE_S3_ACCESS_KEY_ID RCLONE_S3_SECRET_ACCESS_KEY
: >"$work/rclone.conf"
rc() { rclone --config "$work/rclone.conf" "$@"; }
rc lsl s3t:stor-cli/meta.txt >"$work/rclone.lsl" 2>&1
if grep -q "2001-02-03 04:05:06.789" "$work/rclone.lsl"; then ok "rclone reads the mtime stor keeps (X-Amz-Meta-Mtime)"
else not_ok "rclone reads the mtime stor keeps (X-Amz-Meta-Mtime)"; sed 's/^/# /' "$work/rclone.lsl"; fi
if rc cat s3t:stor-cli/piped >"$work/rclone.back" 2>/dev/null && cmp -s "$work/file" "$work/rclone.back"; then
	ok "rclone reads stor's streamed object byte for byte"
else not_ok "rclone reads stor's streamed object byte for byte"; fi

# sync: local to s3, then nothing to do the second time
mkdir -p "$work/tree/sub"
cp "$work/file" "$work/tree/a"; cp "$work/small" "$work/tree/sub/b"
check "sync local to s3" "$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 -o endpoint="$url" sync "$work/tree" stor-cli/synced
"$stor" --plugin-dir "$builddir/plugins/s3/.libs" --backend=s3 -o endpoint="$url" sync "$work/tree" stor-cli/synced >"$work/sync2.out" 2>&1
if grep -q "2 unchanged" "$work/sync2.out"; then ok "a second sync finds both unchanged (mtime kept)"
else not_ok "a second sync finds both unchanged (mtime kept)"; sed 's/^/# /' "$work/sync2.out"; fi

# rm -r: DeleteObjects, 1,000 keys a request; a key the server refuses is named, the rest go
mkdir -p "$work/many"
i=0
while test $i -lt 1200; do printf '%d' $i >"$work/many/f$i"; i=$((i + 1)); done
s3 put -r "$work/many" stor-cli/many >/dev/null 2>&1
control reset >/dev/null
# an unversioned bucket lists its objects as version "null": 1,200 of them in two pages
listed=$(s3 -o list_metadata=no ls --versions -r --json stor-cli/many/ 2>/dev/null | grep -c '"id":"null"')
if test "$listed" -eq 1200 && test "$(counter ListObjectVersions calls)" -eq 2; then
	ok "ls --versions pages through 1,200 versions (two ListObjectVersions, key markers)"
else not_ok "ls --versions pages through 1,200 versions (got $listed, $(control counters | tr '\n' ';'))"; fi
control reset >/dev/null
check "rm -r of 1,200 objects" s3 -o list_metadata=no rm -r --yes stor-cli/many
if test "$(counter DeleteObjects calls)" -eq 2 && test "$(counter DeleteObject calls)" -eq 0; then
	ok "in two DeleteObjects requests, no DeleteObject"
else not_ok "in two DeleteObjects requests, no DeleteObject ($(control counters | tr '\n' ';'))"; fi
fails_with 3 "nothing is left under the prefix" "nothing under" s3 rm -r --yes stor-cli/many
for name in a b c d; do s3 put "$work/small" "stor-cli/denied/$name" >/dev/null 2>&1; done
control "lie?op=DeleteObjects&what=deny" >/dev/null
s3 -o list_metadata=no rm -r --yes stor-cli/denied >"$work/denied.out" 2>"$work/denied.err"
code=$?
if test "$code" -eq 7 && test "$(grep -c AccessDenied "$work/denied.err")" -eq 2 &&
	grep -q "rm denied/a: .*AccessDenied" "$work/denied.err" && grep -q "rm denied/c: " "$work/denied.err"; then
	ok "keys the server refuses are each one line, exit 7 (partial)"
else not_ok "keys the server refuses are each one line, exit 7 (partial) (exit $code)"; sed 's/^/# /' "$work/denied.err"; fi
s3 -o list_metadata=no ls -r stor-cli/denied/ >"$work/denied.ls" 2>&1
if grep -q "denied/a" "$work/denied.ls" && grep -q "denied/c" "$work/denied.ls" &&
	! grep -q "denied/b" "$work/denied.ls" && ! grep -q "denied/d" "$work/denied.ls"; then
	ok "the refused keys stay, the others are gone"
else not_ok "the refused keys stay, the others are gone"; sed 's/^/# /' "$work/denied.ls"; fi
control reset >/dev/null
mkdir -p "$work/syncdel"
printf 'x' >"$work/syncdel/keep"
for name in a b c; do s3 put "$work/small" "stor-cli/syncdel/$name" >/dev/null 2>&1; done
control reset >/dev/null
check "sync --delete" s3 sync --delete "$work/syncdel" stor-cli/syncdel
if test "$(counter DeleteObjects calls)" -eq 1 && test "$(counter DeleteObject calls)" -eq 0; then
	ok "sync --delete removes in one DeleteObjects request"
else not_ok "sync --delete removes in one DeleteObjects request ($(control counters | tr '\n' ';'))"; fi

# versions: a versioned bucket (enabled with awscli), stor's listing against awscli's and boto3's
check "mb a bucket for versions" s3 mb stor-ver
"$aws" --endpoint-url "$url" s3api put-bucket-versioning --bucket stor-ver \
	--versioning-configuration Status=Enabled >/dev/null 2>&1
printf 'one\n' >"$work/v1"
printf 'two!\n' >"$work/v2"
s3 put "$work/v1" stor-ver/d/k >/dev/null 2>&1
s3 put "$work/v2" stor-ver/d/k >/dev/null 2>&1
s3 put "$work/v1" stor-ver/d/other >/dev/null 2>&1
check "rm on a versioned bucket" s3 rm stor-ver/d/k
fails_with 3 "the removed name is not found (exit 3)" "not found" s3 get stor-ver/d/k "$work/gone"
s3 ls --versions -r --json stor-ver >"$work/versions.json" 2>&1
"$python" - "$work/versions.json" >"$work/stor-versions" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    print(o["key"], o["id"], "marker" if o["hidden"] else o["size"])
PY
"$aws" --endpoint-url "$url" s3api list-object-versions --bucket stor-ver --output json >"$work/aws-versions.json" 2>&1
"$python" - "$work/aws-versions.json" >"$work/aws-versions" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
# awscli gives versions and delete markers apart; here the one marker is each name's newest.
rows = []
for key in sorted({e["Key"] for e in d.get("Versions", []) + d.get("DeleteMarkers", [])}):
    rows += [f'{key} {m["VersionId"]} marker' for m in d.get("DeleteMarkers", []) if m["Key"] == key]
    rows += [f'{key} {v["VersionId"]} {v["Size"]}' for v in d.get("Versions", []) if v["Key"] == key]
print("\n".join(rows))
PY
if test "$(wc -l <"$work/stor-versions")" -eq 4 && cmp -s "$work/stor-versions" "$work/aws-versions"; then
	ok "ls --versions agrees with aws s3api list-object-versions (2 versions, a marker, another name)"
else not_ok "ls --versions agrees with aws s3api list-object-versions"; diff "$work/stor-versions" "$work/aws-versions" | sed 's/^/# /'; fi
old=$(awk '$1 == "d/k" && $3 == 4 { print $2 }' "$work/stor-versions")
check "get --version of the first version" s3 get --version="$old" stor-ver/d/k "$work/v1.back"
same "the first version comes back byte for byte" "$work/v1" "$work/v1.back"
s3 stat --version="$old" stor-ver/d/k >"$work/vstat" 2>&1
if grep -q "^size: *4" "$work/vstat"; then ok "stat --version reads that version"
else not_ok "stat --version reads that version"; sed 's/^/# /' "$work/vstat"; fi
marker=$(awk '$1 == "d/k" && $3 == "marker" { print $2 }' "$work/stor-versions")
fails_with 3 "get --version of a delete marker is not found (exit 3)" "delete marker" \
	s3 get --version="$marker" stor-ver/d/k "$work/marker.back"
check "rm --version deletes the delete marker" s3 rm --version="$marker" stor-ver/d/k
check "the newest version is current again" s3 get stor-ver/d/k "$work/v2.back"
same "it holds the second version's bytes" "$work/v2" "$work/v2.back"
fails_with 3 "rm --version of a version that is not there is not found (exit 3)" "not found" \
	s3 rm --version=0123456789abcdef0123456789abcdef stor-ver/d/k
check "rm --hard deletes every version" s3 rm --hard stor-ver/d/k
"$aws" --endpoint-url "$url" s3api list-object-versions --bucket stor-ver --prefix d/k --output json >"$work/after-hard.json" 2>&1
if "$python" -c 'import json,sys; d=json.load(open(sys.argv[1])) if open(sys.argv[1]).read().strip() else {}; sys.exit(any(e["Key"]=="d/k" for e in d.get("Versions",[])+d.get("DeleteMarkers",[])))' "$work/after-hard.json"; then
	ok "awscli sees no version of it left"; else not_ok "awscli sees no version of it left"; sed 's/^/# /' "$work/after-hard.json"; fi

# the conformance suite
checker=$builddir/stor-plugin-check
check "stor-plugin-check passes for s3 on the test server (a versioned bucket)" \
	"$checker" "$builddir/plugins/s3/.libs/s3.so" --bucket=stor-ver -o endpoint="$url"

test "$failed" -eq 0
