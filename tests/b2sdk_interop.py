#!/usr/bin/python3
"""tests/b2sdk_interop.py — Backblaze's own Python library (Debian python3-b2sdk) against the B2
test server: every check prints one TAP line. Usage: b2sdk_interop.py URL KEY_ID KEY SCRATCH."""
import hashlib
import io
import os
import sys
import urllib.request

from b2sdk.v2 import B2Api, InMemoryAccountInfo

url, key_id, key, scratch = sys.argv[1:5]
results = []


def check(description, condition):
    results.append(bool(condition))
    print(("ok" if condition else "not ok") + " %d - b2sdk: %s" % (len(results), description), flush=True)


def step(description, action):
    try:
        value = action()
    except Exception as error:  # one broken call must not hide the checks after it
        check("%s (%s: %s)" % (description, type(error).__name__, error), False)
        return None
    check(description, True)
    return value


def downloaded(downloaded_file):
    path = os.path.join(scratch, "download")
    downloaded_file.save_to(path)
    with open(path, "rb") as f:
        return f.read()


api = B2Api(InMemoryAccountInfo())
step("authorizes against the server as its realm", lambda: api.authorize_account(url, key_id, key))
bucket = step("creates a bucket", lambda: api.create_bucket("sdk-bucket", "allPrivate"))
check("lists it among the buckets", bucket and "sdk-bucket" in [b.name for b in api.list_buckets()])
small = os.urandom(1000) + b"small"
version = step("uploads a small file", lambda: bucket.upload_bytes(small, "dir/small.bin"))
check("its SHA-1 is the one B2 reports", version and version.content_sha1 == hashlib.sha1(small).hexdigest())
check("downloads it by name", downloaded(bucket.download_file_by_name("dir/small.bin")) == small)
check("downloads a range of it by id",
      version and downloaded(api.download_file_by_id(version.id_, range_=(10, 19))) == small[10:20])

# A large file by hand: start, two parts, list them, finish; and one started then cancelled.
session = api.session
bucket_id = bucket.id_ if bucket else ""
part1, part2 = os.urandom(5000000), os.urandom(1234)
large = step("starts a large file", lambda: session.start_large_file(bucket_id, "large.bin", "b2/x-auto", {}))
large_id = large["fileId"] if large else ""
for number, part in ((1, part1), (2, part2)):
    step("uploads part %d" % number, lambda: session.upload_part(
        large_id, number, len(part), hashlib.sha1(part).hexdigest(), io.BytesIO(part)))
parts = step("lists the parts", lambda: session.list_parts(large_id, 1, 100))
check("both parts are listed", parts and [p["partNumber"] for p in parts["parts"]] == [1, 2])
step("finishes the large file", lambda: session.finish_large_file(
    large_id, [hashlib.sha1(part1).hexdigest(), hashlib.sha1(part2).hexdigest()]))
check("downloads the large file whole", downloaded(bucket.download_file_by_name("large.bin")) == part1 + part2)
other = step("starts another large file", lambda: session.start_large_file(bucket_id, "unfinished.bin", "b2/x-auto", {}))
unfinished = step("lists unfinished large files", lambda: list(bucket.list_unfinished_large_files()))
check("the unfinished one is listed", unfinished and [f.file_name for f in unfinished] == ["unfinished.bin"])
step("cancels it", lambda: session.cancel_large_file(other["fileId"]))

names = step("lists names recursively", lambda: [f.file_name for f, _ in bucket.ls(recursive=True)])
check("the listing holds the two files", names == ["dir/small.bin", "large.bin"])
copied = step("copies a file server-side", lambda: bucket.copy(version.id_, "copy.bin"))
check("the copy reads back", downloaded(bucket.download_file_by_name("copy.bin")) == small)
step("hides a file", lambda: bucket.hide_file("copy.bin"))
versions = step("lists versions with the hide marker",
                lambda: [(f.file_name, f.action) for f, _ in bucket.ls(recursive=True, latest_only=False)])
check("the hide marker and the copy are listed", versions and ("copy.bin", "hide") in versions and ("copy.bin", "upload") in versions)
step("deletes a version", lambda: api.delete_file_version(version.id_, "dir/small.bin"))
check("the deleted version is gone", [f.file_name for f, _ in bucket.ls(recursive=True)] == ["large.bin"])

token = step("gets a download authorization for a prefix",
             lambda: bucket.get_download_authorization("lar", 3600))
download_url = api.account_info.get_download_url()
def fetch(name, authorization):
    request = urllib.request.Request("%s/file/sdk-bucket/%s" % (download_url, name),
                                     headers={"Authorization": authorization})
    try:
        return urllib.request.urlopen(request).read()
    except urllib.error.HTTPError as error:
        return error.code
check("the authorization downloads a name under its prefix", token and fetch("large.bin", token) == part1 + part2)
bucket.upload_bytes(b"x", "other.bin")
check("and nothing outside it", token and fetch("other.bin", token) == 401)

# Encryption at rest and Object Lock, as b2sdk 1.17 asks for them.
from b2sdk.v2 import (SSE_B2_AES, EncryptionAlgorithm, EncryptionKey, EncryptionMode,
                      EncryptionSetting, FileRetentionSetting, RetentionMode)
from b2sdk.exception import AccessDenied
sse_c = EncryptionSetting(EncryptionMode.SSE_C, EncryptionAlgorithm.AES256,
                          EncryptionKey(secret=os.urandom(32), key_id="interop"))
other_key = EncryptionSetting(EncryptionMode.SSE_C, EncryptionAlgorithm.AES256,
                              EncryptionKey(secret=os.urandom(32), key_id="other"))
secret_data = os.urandom(2000)
b2_version = step("uploads an SSE-B2 file", lambda: bucket.upload_bytes(secret_data, "sse/b2.bin",
                                                                        encryption=SSE_B2_AES))
check("it is reported SSE-B2", b2_version and b2_version.server_side_encryption.mode == EncryptionMode.SSE_B2)
check("it downloads", downloaded(bucket.download_file_by_name("sse/b2.bin")) == secret_data)
c_version = step("uploads an SSE-C file", lambda: bucket.upload_bytes(secret_data, "sse/c.bin",
                                                                      encryption=sse_c))
check("it is reported SSE-C", c_version and c_version.server_side_encryption.mode == EncryptionMode.SSE_C)
check("it downloads with its key",
      downloaded(bucket.download_file_by_name("sse/c.bin", encryption=sse_c)) == secret_data)
def refused(action):
    try:
        action()
    except AccessDenied:  # b2sdk's SSECKeyError is one
        return True
    return False
check("and not with another key", refused(lambda: downloaded(
    bucket.download_file_by_name("sse/c.bin", encryption=other_key))))
check("nor without one", refused(lambda: downloaded(bucket.download_file_by_name("sse/c.bin"))))
lock_bucket = step("creates an Object Lock bucket",
                   lambda: api.create_bucket("sdk-lock-bucket", "allPrivate", is_file_lock_enabled=True))
check("it says so", lock_bucket and lock_bucket.is_file_lock_enabled)
retention = FileRetentionSetting(RetentionMode.GOVERNANCE, 4102444800000)
locked = step("uploads a file with governance retention", lambda: lock_bucket.upload_bytes(
    b"kept", "kept.bin", file_retention=retention))
check("its retention is reported", locked and locked.file_retention == retention)
check("it cannot be deleted", locked and refused(lambda: api.delete_file_version(locked.id_, "kept.bin")))
later = FileRetentionSetting(RetentionMode.GOVERNANCE, 4133980800000)
check("its retention is extended", locked and
      api.update_file_retention(locked.id_, "kept.bin", later) == later)
check("but not shortened without the bypass", locked and refused(lambda: api.update_file_retention(
    locked.id_, "kept.bin", retention)))
check("and shortened with it", locked and
      api.update_file_retention(locked.id_, "kept.bin", retention, bypass_governance=True) == retention)
from b2sdk.v2 import LegalHold
check("a legal hold is put on", locked and
      api.update_file_legal_hold(locked.id_, "kept.bin", LegalHold.ON) == LegalHold.ON)
check("and off", locked and api.update_file_legal_hold(locked.id_, "kept.bin", LegalHold.OFF) == LegalHold.OFF)
# b2sdk 1.17.3 sends no bypassGovernance on b2_delete_file_version: the locked file stays, and
# with it the lock bucket (the server is discarded after the run).
for f, _ in bucket.ls(recursive=True, latest_only=False):
    api.delete_file_version(f.id_, f.file_name)
step("deletes the emptied bucket", lambda: api.delete_bucket(bucket))

print("1..%d" % len(results))
sys.exit(0 if all(results) else 1)
