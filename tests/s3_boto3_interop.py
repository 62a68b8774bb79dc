#!/usr/bin/python3
"""s3_boto3_interop.py URL WORKDIR — boto3 (Debian python3-boto3) against the S3 test server,
printing TAP lines (no plan: tests/test_s3_interop_boto3.sh goes on counting from WORKDIR/boto3.count). Puts, ranged gets, listing
with a paginator, multipart (with its refusals), part copies, copies, delete_objects, presigned
URLs fetched with urllib; then requests signed by hand with botocore's signer and spoiled one way
each (wrong secret, tampered payload, stale date, unsigned header...), which the server must
refuse with S3's codes. Credentials from the environment (AWS_ACCESS_KEY_ID, ...)."""

import datetime
import hashlib
import os
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

URL, WORK = sys.argv[1], sys.argv[2]
BUCKET = "boto3-bucket"
COUNT = 0
FAILED = 0


def result(good, description, detail=""):
    global COUNT, FAILED
    COUNT += 1
    if good:
        print(f"ok {COUNT} - {description}")
    else:
        FAILED += 1
        print(f"not ok {COUNT} - {description}")
        for line in str(detail).splitlines()[-20:]:
            print(f"# {line}")
    sys.stdout.flush()


def check(description, function):
    try:
        good = function()
        result(good is not False, description, "returned False")
    except Exception as error:  # a failed check, whatever broke
        result(False, description, repr(error))


def refused(description, code, function):
    try:
        function()
        result(False, description, "it succeeded")
    except ClientError as error:
        got = error.response.get("Error", {}).get("Code")
        result(got == code, description, f"code {got!r}, wanted {code!r}")
    except Exception as error:
        result(False, description, repr(error))


s3 = boto3.client(
    "s3", endpoint_url=URL, region_name="us-east-1",
    # boto3 1.26 presigns with Signature Version 2 unless told; the server speaks version 4 only.
    config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                  retries={"max_attempts": 6, "mode": "standard"}),
)

check("create_bucket", lambda: s3.create_bucket(Bucket=BUCKET))
payload = os.urandom(100000)
check("put_object with metadata", lambda: s3.put_object(
    Bucket=BUCKET, Key="data/one.bin", Body=payload, Metadata={"origin": "boto3"},
    ContentType="application/x-test"))


def ranges():
    whole = s3.get_object(Bucket=BUCKET, Key="data/one.bin")
    assert whole["Body"].read() == payload and whole["Metadata"] == {"origin": "boto3"}
    assert whole["ContentType"] == "application/x-test"
    part = s3.get_object(Bucket=BUCKET, Key="data/one.bin", Range="bytes=10-19")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == "bytes 10-19/100000"
    assert part["Body"].read() == payload[10:20]
    tail = s3.get_object(Bucket=BUCKET, Key="data/one.bin", Range="bytes=-5")["Body"].read()
    assert tail == payload[-5:]
    open_ended = s3.get_object(Bucket=BUCKET, Key="data/one.bin", Range="bytes=99990-")["Body"].read()
    return open_ended == payload[99990:]


check("get_object whole, bytes=10-19 (206), bytes=-5 and bytes=99990-", ranges)
refused("a range beyond the end is InvalidRange", "InvalidRange",
        lambda: s3.get_object(Bucket=BUCKET, Key="data/one.bin", Range="bytes=100000-"))


def conditional():
    etag = s3.head_object(Bucket=BUCKET, Key="data/one.bin")["ETag"]
    assert etag == '"' + hashlib.md5(payload).hexdigest() + '"'
    assert s3.get_object(Bucket=BUCKET, Key="data/one.bin", IfMatch=etag)["Body"].read() == payload
    try:
        s3.get_object(Bucket=BUCKET, Key="data/one.bin", IfNoneMatch=etag)
        return False
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"] == 304


check("the ETag is the MD5; If-Match serves, If-None-Match answers 304", conditional)
refused("If-Match with another ETag is PreconditionFailed", "PreconditionFailed",
        lambda: s3.get_object(Bucket=BUCKET, Key="data/one.bin", IfMatch='"0000"'))

keys = sorted([f"list/{i:03d}.txt" for i in range(23)] + ["list/sub/a.txt", "list/sub/b.txt",
                                                           "list/z z+y.txt", "list/\u00e9t\u00e9.txt"])
for key in keys:
    s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())


def paginate():
    pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="list/", PaginationConfig={"PageSize": 5}))
    listed = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert listed == keys, listed
    assert len(pages) == 6 and all(p["KeyCount"] <= 5 for p in pages)
    return True


check("list_objects_v2 paginator in pages of 5 lists all 27 keys in order", paginate)


def delimiter():
    pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="list/", Delimiter="/", PaginationConfig={"PageSize": 4}))
    listed = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    return prefixes == ["list/sub/"] and listed == [k for k in keys if not k.startswith("list/sub/")]


check("with a delimiter across pages: one CommonPrefix, every other key once", delimiter)


def list_v1():
    pages = list(s3.get_paginator("list_objects").paginate(
        Bucket=BUCKET, Prefix="list/", PaginationConfig={"PageSize": 10}))
    return [o["Key"] for p in pages for o in p.get("Contents", [])] == keys and len(pages) == 3


check("list_objects (v1) paginator with markers", list_v1)


def start_after():
    answer = s3.list_objects_v2(Bucket=BUCKET, Prefix="list/", StartAfter="list/020.txt", MaxKeys=3)
    return [o["Key"] for o in answer["Contents"]] == keys[21:24] and answer["IsTruncated"]


check("list_objects_v2 StartAfter and MaxKeys", start_after)

# ---- multipart ----
big_part = os.urandom(5 * 1024 * 1024)
small_part = os.urandom(12345)


def multipart():
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/big.bin", Metadata={"m": "1"})["UploadId"]
    e1 = s3.upload_part(Bucket=BUCKET, Key="mp/big.bin", UploadId=upload, PartNumber=1, Body=big_part)["ETag"]
    e2 = s3.upload_part(Bucket=BUCKET, Key="mp/big.bin", UploadId=upload, PartNumber=2, Body=small_part)["ETag"]
    parts = s3.list_parts(Bucket=BUCKET, Key="mp/big.bin", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [(1, len(big_part), e1), (2, len(small_part), e2)]
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/big.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    md5s = hashlib.md5(bytes.fromhex(e1.strip('"')) + bytes.fromhex(e2.strip('"'))).hexdigest()
    assert done["ETag"] == f'"{md5s}-2"', done["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key="mp/big.bin")
    return got["Body"].read() == big_part + small_part and got["Metadata"] == {"m": "1"}


check("multipart: create, 2 parts, list_parts, complete with the md5-of-md5s-2 ETag, get", multipart)


def start(key):
    return s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]


def too_small():
    upload = start("mp/small.bin")
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=BUCKET, Key="mp/small.bin", UploadId=upload,
                                                       PartNumber=n, Body=b"x" * 100)["ETag"]} for n in (1, 2)]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/small.bin", UploadId=upload, MultipartUpload={"Parts": parts})


refused("a part below 5 MiB but the last is EntityTooSmall", "EntityTooSmall", too_small)


def wrong_etag():
    upload = start("mp/wrong.bin")
    s3.upload_part(Bucket=BUCKET, Key="mp/wrong.bin", UploadId=upload, PartNumber=1, Body=b"abc")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/wrong.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})


refused("a part with another ETag is InvalidPart", "InvalidPart", wrong_etag)
refused("an unknown upload id is NoSuchUpload", "NoSuchUpload",
        lambda: s3.upload_part(Bucket=BUCKET, Key="mp/x", UploadId="nope", PartNumber=1, Body=b"x"))
refused("part number 10001 is InvalidArgument", "InvalidArgument",
        lambda: s3.upload_part(Bucket=BUCKET, Key="mp/wrong.bin", UploadId=start("mp/n"), PartNumber=10001, Body=b"x"))


def part_copy():
    upload = start("mp/copied.bin")
    first = s3.upload_part_copy(Bucket=BUCKET, Key="mp/copied.bin", UploadId=upload, PartNumber=1,
                                CopySource={"Bucket": BUCKET, "Key": "mp/big.bin"},
                                CopySourceRange=f"bytes=0-{len(big_part) - 1}")["CopyPartResult"]["ETag"]
    second = s3.upload_part_copy(Bucket=BUCKET, Key="mp/copied.bin", UploadId=upload, PartNumber=2,
                                 CopySource={"Bucket": BUCKET, "Key": "data/one.bin"})["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/copied.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": second}]})
    return s3.get_object(Bucket=BUCKET, Key="mp/copied.bin")["Body"].read() == big_part + payload


check("upload_part_copy with and without a range", part_copy)

def part_copy_pinned():
    upload = start("copy/pinned")
    source = {"Bucket": BUCKET, "Key": "data/one.bin"}
    s3.upload_part_copy(Bucket=BUCKET, Key="copy/pinned", UploadId=upload, PartNumber=1,
                        CopySource=source, CopySourceIfMatch=s3.head_object(**source)["ETag"])
    try:
        s3.upload_part_copy(Bucket=BUCKET, Key="copy/pinned", UploadId=upload, PartNumber=2,
                            CopySource=source, CopySourceIfMatch='"0123456789abcdef0123456789abcdef"')
        return False
    except ClientError as error:
        return error.response["Error"]["Code"] == "PreconditionFailed"
    finally:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="copy/pinned", UploadId=upload)
check("upload_part_copy with CopySourceIfMatch: the ETag copies, another is 412", part_copy_pinned)


def uploads_listed():
    listed = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mp/")["Uploads"]
    for upload in listed:
        s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    return len(listed) == 3 and "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)


check("list_multipart_uploads shows the 3 unfinished ones; abort empties it", uploads_listed)


def uploads_paginated():
    started = sorted((key, start(key)) for key in ["pg/a", "pg/b", "pg/b", "pg/c", "pg/d"])
    pages = list(s3.get_paginator("list_multipart_uploads").paginate(
        Bucket=BUCKET, Prefix="pg/", PaginationConfig={"PageSize": 2}))
    listed = [(u["Key"], u["UploadId"]) for p in pages for u in p.get("Uploads", [])]
    for key, upload in listed:
        s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload)
    return len(pages) == 3 and sorted(listed) == started and len(set(listed)) == 5


check("list_multipart_uploads in pages of 2 (key and upload-id markers) lists 5 uploads once each",
      uploads_paginated)

# ---- copies and deletes ----


def copies():
    s3.copy_object(Bucket=BUCKET, Key="copy/same-meta", CopySource={"Bucket": BUCKET, "Key": "data/one.bin"})
    s3.copy_object(Bucket=BUCKET, Key="copy/new-meta", CopySource=f"{BUCKET}/data/one.bin",
                   MetadataDirective="REPLACE", Metadata={"origin": "copy"}, ContentType="text/x-new")
    same = s3.head_object(Bucket=BUCKET, Key="copy/same-meta")
    new = s3.head_object(Bucket=BUCKET, Key="copy/new-meta")
    return (same["Metadata"] == {"origin": "boto3"} and new["Metadata"] == {"origin": "copy"}
            and new["ContentType"] == "text/x-new"
            and s3.get_object(Bucket=BUCKET, Key="copy/new-meta")["Body"].read() == payload)


check("copy_object COPY keeps, REPLACE replaces the metadata", copies)
refused("copy_object onto itself without REPLACE is InvalidRequest", "InvalidRequest",
        lambda: s3.copy_object(Bucket=BUCKET, Key="data/one.bin", CopySource=f"{BUCKET}/data/one.bin"))
refused("copy_object from a missing key is NoSuchKey", "NoSuchKey",
        lambda: s3.copy_object(Bucket=BUCKET, Key="x", CopySource=f"{BUCKET}/missing"))


def deletes():
    answer = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:20]]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == keys[:20]
    quiet = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[20:]], "Quiet": True})
    assert "Deleted" not in quiet
    return "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="list/")


check("delete_objects (20 keys, then the rest quietly) empties the prefix", deletes)
refused("delete_objects of 1001 keys is MalformedXML", "MalformedXML",
        lambda: s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]}))

# ---- versions ----
VB = "boto3-versions"


def versioning():
    s3.create_bucket(Bucket=VB)
    s3.put_object(Bucket=VB, Key="before", Body=b"from before versioning")
    assert "Status" not in s3.get_bucket_versioning(Bucket=VB)
    s3.put_bucket_versioning(Bucket=VB, VersioningConfiguration={"Status": "Enabled"})
    return s3.get_bucket_versioning(Bucket=VB)["Status"] == "Enabled"
check("put_bucket_versioning Enabled, get_bucket_versioning reads it back", versioning)


def versions_kept():
    first = s3.put_object(Bucket=VB, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=VB, Key="k", Body=b"two")["VersionId"]
    assert first != second and len(first) == 32
    old = s3.get_object(Bucket=VB, Key="k", VersionId=first)
    assert old["Body"].read() == b"one" and old["VersionId"] == first
    assert s3.get_object(Bucket=VB, Key="k")["Body"].read() == b"two"
    assert s3.head_object(Bucket=VB, Key="before", VersionId="null")["VersionId"] == "null"
    deleted = s3.delete_object(Bucket=VB, Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] not in (first, second)
    try:
        s3.get_object(Bucket=VB, Key="k")
        return False
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchKey"
    listing = s3.list_object_versions(Bucket=VB, Prefix="k")
    versions = [(v["VersionId"], v["IsLatest"]) for v in listing["Versions"]]
    markers = [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]]
    assert versions == [(second, False), (first, False)], versions
    assert markers == [(deleted["VersionId"], True)], markers
    # Deleting the delete marker brings the second version back as current.
    s3.delete_object(Bucket=VB, Key="k", VersionId=deleted["VersionId"])
    assert s3.get_object(Bucket=VB, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=VB, Key="k", VersionId=second)
    return s3.get_object(Bucket=VB, Key="k")["Body"].read() == b"one"
check("versions: ids on put, get by id, a delete marker, list, deleting versions by id", versions_kept)


def versions_paginated():
    for i in range(4):
        for j in range(3):
            s3.put_object(Bucket=VB, Key=f"p/{i}", Body=f"{i}.{j}".encode())
    s3.delete_object(Bucket=VB, Key="p/2")
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=VB, Prefix="p/", PaginationConfig={"PageSize": 2})
    seen = []
    for page in pages:
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) <= 2
        seen += [(e["Key"], e["VersionId"]) for e in entries]
    keys = [k for k, _ in seen]
    return len(seen) == 13 and len(set(seen)) == 13 and keys == sorted(keys)
check("list_object_versions paginator in pages of 2 (key and version-id markers) lists 13 once each",
      versions_paginated)


def suspended():
    s3.put_bucket_versioning(Bucket=VB, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=VB, Key="s", Body=b"a")
    s3.put_object(Bucket=VB, Key="s", Body=b"b")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=VB, Prefix="s")["Versions"]]
    s3.put_bucket_versioning(Bucket=VB, VersioningConfiguration={"Status": "Enabled"})
    return ids == ["null"]
check("suspended versioning replaces the one null version", suspended)

# ---- presigned URLs ----


def fetch(url, method="GET", data=None):
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def presigned_get():
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "data/one.bin"}, ExpiresIn=300)
    status, body = fetch(url)
    return status == 200 and body == payload


check("a presigned GET URL fetched with urllib answers the bytes", presigned_get)


def presigned_put():
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned/put.bin"}, ExpiresIn=300)
    status, _ = fetch(url, "PUT", b"put through a presigned URL")
    return status == 200 and s3.get_object(Bucket=BUCKET, Key="presigned/put.bin")["Body"].read() == b"put through a presigned URL"


check("a presigned PUT URL stores the bytes", presigned_put)


def presigned_expired():
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "data/one.bin"}, ExpiresIn=1)
    time.sleep(2.1)
    status, body = fetch(url)
    return status == 403 and b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body


check("an expired presigned URL is 403 AccessDenied 'Request has expired'", presigned_expired)


def presigned_tampered():
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "data/one.bin"}, ExpiresIn=300)
    status, body = fetch(url.replace("data/one.bin", "copy/new-meta"))
    return status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body


check("a presigned URL for another key is SignatureDoesNotMatch", presigned_tampered)


def presigned_v2():
    v2 = boto3.client("s3", endpoint_url=URL, region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3"))
    status, body = fetch(v2.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "data/one.bin"}))
    return status == 400 and b"<Code>InvalidRequest</Code>" in body and b"AWS4-HMAC-SHA256" in body


check("a Signature Version 2 presigned URL is 400 InvalidRequest (use AWS4-HMAC-SHA256)", presigned_v2)

# ---- requests signed by hand with botocore, spoiled one way each ----
KEY, SECRET = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]


def signed(method, path, body=b"", secret=SECRET, key=KEY, headers=None, when=None, region="us-east-1"):
    request = AWSRequest(method=method, url=URL + path, data=body, headers=headers or {})
    signer = botocore.auth.S3SigV4Auth(Credentials(key, secret), "s3", region)
    if when is None:
        signer.add_auth(request)
    else:
        saved = botocore.auth.datetime

        class Clock:
            class datetime(datetime.datetime):
                @classmethod
                def utcnow(cls):
                    return when
        botocore.auth.datetime = Clock
        try:
            signer.add_auth(request)
        finally:
            botocore.auth.datetime = saved
    return request


def send(request, body=None, extra=None):
    headers = dict(request.headers.items())
    headers.update(extra or {})
    raw = urllib.request.Request(request.url, method=request.method,
                                 data=request.body if body is None else body, headers=headers)
    try:
        with urllib.request.urlopen(raw, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def answers(status, code, request, body=None, extra=None):
    got_status, got_body = send(request, body, extra)
    good = got_status == status and f"<Code>{code}</Code>".encode() in got_body
    return good or (print(f"# got {got_status} {got_body[:300]!r}") and False)


check("a request signed by hand with botocore is accepted",
      lambda: send(signed("PUT", f"/{BUCKET}/raw/ok", b"signed body"))[0] == 200)
check("a wrong secret is 403 SignatureDoesNotMatch",
      lambda: answers(403, "SignatureDoesNotMatch", signed("GET", f"/{BUCKET}/data/one.bin", secret="wrong" + SECRET)))
check("an unknown access key is 403 InvalidAccessKeyId",
      lambda: answers(403, "InvalidAccessKeyId", signed("GET", f"/{BUCKET}/data/one.bin", key="AKIAUNKNOWN")))
check("a tampered payload (signed for one body, sent with another) is 400 XAmzContentSHA256Mismatch",
      lambda: answers(400, "XAmzContentSHA256Mismatch", signed("PUT", f"/{BUCKET}/raw/t", b"original body"), body=b"tampered body"))
check("the tampered object was not stored",
      lambda: send(signed("GET", f"/{BUCKET}/raw/t"))[0] == 404)
check("a Content-MD5 of other bytes is 400 BadDigest",
      lambda: answers(400, "BadDigest", signed("PUT", f"/{BUCKET}/raw/md5", b"abc",
                                                headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})))
check("a signed header changed after signing is SignatureDoesNotMatch",
      lambda: answers(403, "SignatureDoesNotMatch", signed("PUT", f"/{BUCKET}/raw/h", b"x", headers={"x-amz-meta-a": "1"}),
                      extra={"x-amz-meta-a": "2"}))
check("an x-amz header added after signing is 403 AccessDenied (headers not signed)",
      lambda: answers(403, "AccessDenied", signed("PUT", f"/{BUCKET}/raw/h", b"x"), extra={"x-amz-meta-b": "2"}))
check("a date 20 minutes old is 403 RequestTimeTooSkewed",
      lambda: answers(403, "RequestTimeTooSkewed", signed("GET", f"/{BUCKET}/data/one.bin",
                                                          when=datetime.datetime.utcnow() - datetime.timedelta(minutes=20))))
check("another region is 400 AuthorizationHeaderMalformed",
      lambda: answers(400, "AuthorizationHeaderMalformed", signed("GET", f"/{BUCKET}/data/one.bin", region="eu-west-1")))
check("no authentication at all is 403 AccessDenied",
      lambda: answers(403, "AccessDenied", AWSRequest(method="GET", url=f"{URL}/{BUCKET}/data/one.bin")))
check("a bucket name in the wrong case is InvalidBucketName",
      lambda: answers(400, "InvalidBucketName", signed("PUT", "/Upper_Case")))

# ---- bytes for the other clients (tests/test_s3_interop_boto3.sh compares) ----
check("upload_file (multipart above 8 MB) of the file for awscli to read",
      lambda: s3.upload_file(os.path.join(WORK, "to-aws.bin"), "boto3-cross", "from-boto3.bin"))
check("download_file of the file awscli put",
      lambda: s3.download_file("boto3-cross", "from-aws.bin", os.path.join(WORK, "from-aws.bin")))
# The shell script goes on counting from here and prints the plan.
with open(os.path.join(WORK, "boto3.count"), "w") as out:
    out.write(f"{COUNT} {FAILED}\n")
sys.exit(1 if FAILED else 0)
