#!/bin/sh
# test_s3_put_resume.sh — the edges of resuming an S3 multipart put that the fault matrix found
# (tests/test_s3_fault_matrix.c), each a test that failed before its fix: a kept upload without
# any part is continued, not orphaned; parts that cannot be listed are not left behind without a
# word; a completed upload is not offered for resume; 501 NotImplemented is final. Emits TAP.
. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
echo "1..4"
stor=$builddir/stor
test -x "$stor" || bail "no $stor (run make first)"
start_server --bucket bugs
unset STOR_PLUGIN_PATH STOR_CONFIG XDG_CONFIG_HOME
STOR_CACHE_DIR=$work/cache
export STOR_CACHE_DIR
s3() { "$stor" --backend=s3 -o endpoint="$url" -o upload_cutoff=5MiB -o part_size=5MiB -o retries=2 "$@"; }
left() { s3 cleanup --dry-run "$1" 2>/dev/null | sed -n 's/^cleanup: \([0-9]*\) unfinished.*/\1/p'; }
head -c 12000000 /dev/urandom >"$work/large"
printf 'small\n' >"$work/small"

# 1. A multipart upload that failed before any part was stored is "kept: run the same put again
# to resume it"; the same put then starts a fresh upload and leaves the kept one behind for good
# (multipart.c: "nothing of ours in it: a fresh upload (the old one stays)").
control reset >/dev/null
control "fail?op=UploadPart&status=503&count=-1" >/dev/null
s3 put "$work/large" bugs/empty 2>"$work/err1"
control reset >/dev/null
s3 put "$work/large" bugs/empty 2>/dev/null
n=$(left bugs/empty)
if grep -q "resume it" "$work/err1" && test "$n" = 0; then ok "an empty kept upload is resumed, not orphaned"
else not_ok "an empty kept upload is resumed, not orphaned ($n unfinished left; the failure said: $(cat "$work/err1"))"; fi

# 2. A resumed put that cannot list the kept upload's parts (ListParts refused) starts a fresh
# upload silently and leaves the kept one behind.
control "fail?op=CompleteMultipartUpload&status=403&count=1" >/dev/null
s3 put "$work/large" bugs/parts 2>/dev/null
control reset >/dev/null
control "fail?op=ListParts&status=403&count=1" >/dev/null
s3 put "$work/large" bugs/parts 2>"$work/err2"
code=$?
control reset >/dev/null
n=$(left bugs/parts)
if test "$code" -ne 0 || test "$n" = 0 || test -s "$work/err2"; then ok "parts that cannot be listed are not left behind silently"
else not_ok "parts that cannot be listed are not left behind silently (exit 0, nothing said, $n unfinished left)"; fi

# 3. A resumed upload completed, then the HeadObject that checks its metadata fails: the message
# says "the unfinished upload is kept: run the same put again to resume it", but none is kept.
control "fail?op=CompleteMultipartUpload&status=403&count=1" >/dev/null
s3 put "$work/large" bugs/done 2>/dev/null
control reset >/dev/null
control "fail?op=HeadObject&status=403&count=1" >/dev/null
s3 put "$work/large" bugs/done 2>"$work/err3"
control reset >/dev/null
n=$(left bugs/done)
if grep -q "resume it" "$work/err3" && test "$n" = 0; then
	not_ok "no offer to resume an upload that was completed ($(tail -n 1 "$work/err3"))"
else ok "no offer to resume an upload that was completed"; fi

# 4. 501 NotImplemented is permanent (README: NotImplemented -> unsupported, exit 6), but
# request.c's retryable() takes every status >= 500 first, so it is retried to exhaustion.
control "fail?op=PutObject&status=501&code=NotImplemented&count=1" >/dev/null
s3 put "$work/small" bugs/small 2>"$work/err4"
code=$?
calls=$(counter PutObject calls)
control reset >/dev/null
if test "$code" -eq 6 && test "$calls" = 1; then ok "501 NotImplemented is not retried: exit 6"
else not_ok "501 NotImplemented is not retried: exit 6 (exit $code after $calls PutObject calls)"; fi
test "$failed" -eq 0
