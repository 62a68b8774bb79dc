#!/bin/sh
# test_s3_server_hostile.sh — the S3 test server against hostile and malformed input
# (tests/s3_server_hostile.py, requests signed with botocore so only the input is wrong): every
# refusal is S3's code, and the server lives on. Emits TAP. python3-botocore missing is a failure.

. "${STOR_TEST_SRCDIR:-.}/tests/s3_interop_lib.sh"
"$python" -c 'import botocore.auth' 2>/dev/null ||
	{ echo "1..1"; bail "botocore is not installed (Debian package python3-botocore): this test needs it"; }
start_server --max-body 3000000
"$python" "${STOR_TEST_SRCDIR:-.}/tests/s3_server_hostile.py" "$url"
