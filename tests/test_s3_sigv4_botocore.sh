#!/bin/sh
# test_s3_sigv4_botocore.sh — stor's SigV4 signer (plugins/s3/sigv4.c) against botocore, signed
# independently: tests/s3_botocore_sign.py signs a table of S3 request shapes with Debian's
# python3-botocore, tests/s3_sigv4_compare signs them again and verifies botocore's. Emits TAP.
# python3-botocore missing is a failure, never a skip (CI installs it).
python=/usr/bin/python3 # Debian's, where python3-botocore lives (not a pyenv one first on PATH)
compare=${STOR_TEST_BUILDDIR:-.}/tests/s3_sigv4_compare
if ! test -x "$python" || ! "$python" -c 'import botocore.auth' 2>/dev/null; then
	echo "1..1"
	echo "Bail out! botocore is not installed (Debian package python3-botocore): this test needs it"
	exit 1
fi
test -x "$compare" || { echo "1..1"; echo "Bail out! no $compare (run make check)"; exit 1; }
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
"$python" "${STOR_TEST_SRCDIR:-.}/tests/s3_botocore_sign.py" >"$out" ||
	{ echo "1..1"; echo "Bail out! tests/s3_botocore_sign.py failed"; exit 1; }
"$compare" <"$out"
