#!/bin/sh
# test_b2sdk.sh — Backblaze's own Python library (Debian python3-b2sdk) against the B2 test server:
# authorize, buckets, small and large uploads, listings, downloads by name and id with ranges,
# hide, delete, copy, unfinished large files, download authorization. Emits TAP (the checks are
# in tests/b2sdk_interop.py). b2sdk missing is a failure, never a skip (CI installs it).
. "${STOR_TEST_SRCDIR:-.}/tests/interop_lib.sh"

python=/usr/bin/python3 # Debian's, where python3-b2sdk lives (not a pyenv one first on PATH)
$python -c 'import b2sdk.v2' 2>/dev/null ||
	{ echo "1..1"; bail "b2sdk is not installed (Debian package python3-b2sdk): this test needs it"; }
start_server sdk-account sdk-master-key
$python "${STOR_TEST_SRCDIR:-.}/tests/b2sdk_interop.py" "$url" "$key_id" "$key" "$work"
