#!/usr/bin/python3
"""s3_server_hostile.py URL — hostile and malformed input against the S3 test server, each request
signed correctly with botocore's signer (so only the input is wrong): long and broken keys, XML
bombs, deep and oversized XML, oversized bodies, wrong checksums, aws-chunked bodies (good and
spoiled chunk signatures), Signature Version 2, unknown subresources, bad presigned parameters, bad control requests. Prints TAP."""

import base64
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.request

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

URL = sys.argv[1]
KEY, SECRET = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
BUCKET = "hostile"
COUNT = 0
FAILED = 0


class StreamingAuth(botocore.auth.S3SigV4Auth):
    """Declares an aws-chunked body, as newer SDKs do over HTTPS."""

    def payload(self, request):
        return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def send(method, path, body=b"", headers=None, signer=botocore.auth.S3SigV4Auth, sign=True):
    request = AWSRequest(method=method, url=URL + path, data=body, headers=headers or {})
    if sign:
        signer(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    raw = urllib.request.Request(request.url, method=method, data=request.body or None,
                                 headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def expect(description, status, code, answer):
    global COUNT, FAILED
    COUNT += 1
    got_status, body = answer
    good = got_status == status and (code is None or f"<Code>{code}</Code>".encode() in body)
    if not good:
        FAILED += 1
    print(f"{'ok' if good else 'not ok'} {COUNT} - {description}")
    if not good:
        print(f"# got {got_status} {body[:300]!r}")
    sys.stdout.flush()


expect("create the bucket", 200, None, send("PUT", f"/{BUCKET}"))
expect("a 1024-byte key is taken", 200, None, send("PUT", f"/{BUCKET}/" + "k" * 1024, b"x"))
expect("a 1025-byte key is KeyTooLongError", 400, "KeyTooLongError", send("PUT", f"/{BUCKET}/" + "k" * 1025, b"x"))
expect("a key that is not UTF-8 is InvalidArgument", 400, "InvalidArgument", send("PUT", f"/{BUCKET}/bad%FFkey", b"x"))
expect("a key with an escaped NUL is InvalidURI", 400, "InvalidURI", send("PUT", f"/{BUCKET}/nul%00key", b"x"))
expect("a broken escape is InvalidURI", 400, "InvalidURI", send("GET", f"/{BUCKET}/bad%G1", sign=False))
expect("an escaped '/' in a bucket name is InvalidBucketName", 400, "InvalidBucketName",
       send("GET", "/host%2File/key"))
expect("'..' segments are a key like any other (nothing on disk)", 200, None,
       send("PUT", f"/{BUCKET}/a/../../etc/passwd", b"just bytes"))
expect("and read back under that exact key", 200, None, send("GET", f"/{BUCKET}/a/../../etc/passwd"))

bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b"<Delete><Object><Key>&b;</Key></Object></Delete>")
expect("an XML body declaring entities is MalformedXML", 400, "MalformedXML", send("POST", f"/{BUCKET}?delete", bomb))
deep = b"<Delete>" + b"<a>" * 30 + b"</a>" * 30 + b"</Delete>"
expect("XML nested 30 deep is MalformedXML", 400, "MalformedXML", send("POST", f"/{BUCKET}?delete", deep))
big = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 80000 + b"</Delete>"
expect("a 2.3 MB DeleteObjects body is MalformedXML (too large)", 400, "MalformedXML", send("POST", f"/{BUCKET}?delete", big))
expect("a DeleteObjects body that is not XML is MalformedXML", 400, "MalformedXML",
       send("POST", f"/{BUCKET}?delete", b"<Delete><Object><Key>x</Key></Object>"))
expect("a text element over 4 KiB is MalformedXML", 400, "MalformedXML",
       send("POST", f"/{BUCKET}?delete", b"<Delete><Object><Key>" + b"k" * 5000 + b"</Key></Object></Delete>"))

status, body = send("POST", f"/{BUCKET}/mp?uploads")
upload = body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode() if status == 200 else "none"
expect("CompleteMultipartUpload without parts is MalformedXML", 400, "MalformedXML",
       send("POST", f"/{BUCKET}/mp?uploadId={upload}", b"<CompleteMultipartUpload></CompleteMultipartUpload>"))
expect("CompleteMultipartUpload with a part number of 0 is MalformedXML", 400, "MalformedXML",
       send("POST", f"/{BUCKET}/mp?uploadId={upload}",
            b"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"))
expect("CompleteMultipartUpload of a part never uploaded is InvalidPart", 400, "InvalidPart",
       send("POST", f"/{BUCKET}/mp?uploadId={upload}",
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"))
expect("an upload id of another key is NoSuchUpload", 404, "NoSuchUpload",
       send("PUT", f"/{BUCKET}/other?partNumber=1&uploadId={upload}", b"x"))

expect("a body over --max-body is EntityTooLarge", 400, "EntityTooLarge", send("PUT", f"/{BUCKET}/huge", b"h" * 3500000))
data = b"checked bytes"
sha1 = base64.b64encode(hashlib.sha1(data).digest()).decode()
expect("a right x-amz-checksum-sha1 is taken", 200, None, send("PUT", f"/{BUCKET}/sum", data, {"x-amz-checksum-sha1": sha1}))
expect("a wrong x-amz-checksum-sha1 is BadDigest", 400, "BadDigest",
       send("PUT", f"/{BUCKET}/sum", b"other bytes", {"x-amz-checksum-sha1": sha1}))
expect("a Content-MD5 that is not base64 of 16 bytes is InvalidDigest", 400, "InvalidDigest",
       send("PUT", f"/{BUCKET}/sum", data, {"Content-MD5": "bm90LWFuLW1kNQ=="}))


def chunked(path, data, chunk_size, spoil=None, declared=None):
    """An aws-chunked PUT: the seed request signed by botocore, the chunks signed here as the
    streaming page describes; spoil(body) may change the encoded body after signing."""
    request = AWSRequest(method="PUT", url=URL + path, headers={
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data) if declared is None else declared)})
    StreamingAuth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    stamp = request.context["timestamp"]
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    key = ("AWS4" + SECRET).encode()
    for part in (stamp[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = b""
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for piece in pieces:
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", stamp, scope, previous,
                             hashlib.sha256(b"").hexdigest(), hashlib.sha256(piece).hexdigest()])
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n"
    if spoil:
        body = spoil(body)
    raw = urllib.request.Request(request.url, method="PUT", data=body, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


streamed = os.urandom(200000)
expect("an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) with good chunk signatures is taken",
       200, None, chunked(f"/{BUCKET}/chunked", streamed, 65536))
status, body = send("GET", f"/{BUCKET}/chunked")
expect("it reads back decoded", 200, None, (status if body == streamed else 0, b""))
expect("a byte changed in a chunk is SignatureDoesNotMatch", 403, "SignatureDoesNotMatch",
       chunked(f"/{BUCKET}/chunked2", streamed, 65536, spoil=lambda b: b[:200] + bytes([b[200] ^ 1]) + b[201:]))
expect("a wrong x-amz-decoded-content-length is IncompleteBody", 400, "IncompleteBody",
       chunked(f"/{BUCKET}/chunked3", streamed, 65536, declared=len(streamed) - 1))
expect("a chunk without its signature is IncompleteBody", 400, "IncompleteBody",
       chunked(f"/{BUCKET}/chunked4", b"abc", 65536, spoil=lambda b: b"3\r\nabc\r\n0\r\n\r\n"))
status, _ = send("GET", f"/{BUCKET}/sum", headers={"Range": "bytes=abc"})
expect("a malformed Range is ignored (200, the whole object)", 200, None, (status, b""))
expect("an unknown subresource (?acl) is NotImplemented", 501, "NotImplemented", send("GET", f"/{BUCKET}?acl"))
expect("a Signature Version 2 header is InvalidRequest", 400, "InvalidRequest",
       send("GET", f"/{BUCKET}/sum", headers={"Authorization": f"AWS {KEY}:c2lnbmF0dXJl"}, sign=False))
expect("a presigned query with X-Amz-Expires 604801 is AuthorizationQueryParametersError", 400,
       "AuthorizationQueryParametersError",
       send("GET", f"/{BUCKET}/sum?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY}%2F20260101%2Fus-east-1"
                   "%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host"
                   "&X-Amz-Signature=" + "0" * 64, sign=False))
expect("a bucket with objects is BucketNotEmpty", 409, "BucketNotEmpty", send("DELETE", f"/{BUCKET}"))
expect("control: an unknown operation is InvalidArgument", 400, "InvalidArgument",
       send("GET", "/__control/fail?op=NoSuchOperation", sign=False))
expect("control: an unknown command is 404", 404, "NoSuchControl", send("GET", "/__control/explode", sign=False))
expect("control: a status outside 400..599 is InvalidArgument", 400, "InvalidArgument",
       send("GET", "/__control/fail?op=*&status=200", sign=False))
expect("the server still answers after all that", 200, None, send("GET", "/"))
print(f"1..{COUNT}")
sys.exit(1 if FAILED else 0)
