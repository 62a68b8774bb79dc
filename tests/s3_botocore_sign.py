#!/usr/bin/python3
"""s3_botocore_sign.py — signs a table of S3 request shapes with botocore (Debian python3-botocore)
at a fixed time and prints, one JSON object a line, each request as stor's signer takes it and
what botocore made of it: the Authorization header (or the presigned query). tests/s3_sigv4_compare
signs the same requests with plugins/s3/sigv4.c and compares. No network."""

import datetime
import hashlib
import json
import sys
from urllib.parse import quote, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

STAMP = datetime.datetime(2026, 3, 14, 15, 9, 26)


class FixedClock:
    """botocore.auth reads datetime.datetime.utcnow(); the table is signed at one known time."""

    class datetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return STAMP


botocore.auth.datetime = FixedClock

HOST = "127.0.0.1:9000"
KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEJr//////////wEaDH+token/with=odd+chars"

CASES = [
    # name, method, key path (decoded), params [(name, value|None)], headers [(name, value)], body,
    # session token?, presign expiry (0: header auth)
    ("list buckets", "GET", "/", [], [], b"", False, 0),
    ("create multipart upload (?uploads valueless)", "POST", "/bucket/big.bin",
     [("uploads", None)], [("Content-Type", "application/octet-stream")], b"", False, 0),
    ("upload part (unsorted partNumber, uploadId)", "PUT", "/bucket/big.bin",
     [("uploadId", "2~Zm9vYmFy+/="), ("partNumber", "1")], [], b"part one bytes", False, 0),
    ("key with spaces, unicode, ~ + = and $", "PUT", "/bucket/dir/a b+c=d~e$f \u00e9\u6f22.txt",
     [], [("Content-Type", "text/plain; charset=utf-8")], b"hello", False, 0),
    ("x-amz-meta headers in odd order and case", "PUT", "/bucket/meta",
     [], [("X-Amz-Meta-Zebra", "  last   one "), ("x-amz-meta-alpha", "first"),
          ("X-AMZ-META-Mid", "a  b\tc"), ("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==")],
     b"hello", False, 0),
    ("list objects v2 with delimiter, prefix with space and encoding-type", "GET", "/bucket",
     [("list-type", "2"), ("prefix", "a dir/"), ("delimiter", "/"), ("encoding-type", "url"),
      ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")],
     [], b"", False, 0),
    ("session token", "GET", "/bucket/object", [], [("Range", "bytes=0-99")], b"", True, 0),
    ("delete objects (POST ?delete with an XML body)", "POST", "/bucket", [("delete", None)],
     [("Content-Type", "application/xml")],
     b"<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>", False, 0),
    ("copy object with x-amz-copy-source", "PUT", "/bucket/copy of",
     [], [("x-amz-copy-source", "/bucket/dir/a%20b"), ("x-amz-metadata-directive", "REPLACE")],
     b"", False, 0),
    ("presigned GET", "GET", "/bucket/dir/a b.txt", [], [], b"", False, 3600),
    ("presigned GET with token and response-content-type", "GET", "/bucket/x~y+z",
     [("response-content-type", "text/plain")], [], b"", True, 604800),
    ("presigned PUT of an odd key", "PUT", "/bucket/\u00fcber/=+&?#", [], [], b"", False, 60),
]


def sign(case):
    name, method, path, params, headers, body, with_token, expires = case
    credentials = Credentials(KEY, SECRET, TOKEN if with_token else None)
    url = "http://" + HOST + quote(path, safe="/~")
    request = AWSRequest(method=method, url=url, data=body,
                         params=[(k, "" if v is None else v) for k, v in params])
    for header, value in headers:
        request.headers[header] = value
    if expires:
        signer = botocore.auth.S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=expires)
    else:
        signer = botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1")
    signer.add_auth(request)
    prepared = request.prepare()
    out = {
        "name": name,
        "method": method,
        "path": path,
        "params": [[k, v] for k, v in params],
        "headers": [["Host", HOST]] + [[k, v] for k, v in headers],
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "amz_date": STAMP.strftime("%Y%m%dT%H%M%SZ"),
        "region": "us-east-1",
        "access_key": KEY,
        "secret_key": SECRET,
        "session_token": TOKEN if with_token else None,
        "expires": expires,
    }
    if expires:
        out["query"] = urlsplit(prepared.url).query
    else:
        out["authorization"] = prepared.headers["Authorization"]
        out["x-amz-content-sha256"] = prepared.headers["X-Amz-Content-SHA256"]
    return out


def main():
    for case in CASES:
        print(json.dumps(sign(case), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
