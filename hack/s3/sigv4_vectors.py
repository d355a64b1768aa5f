"""Writes src/s3/testdata/sigv4_vectors.json: S3 requests signed by botocore (the reference
signer of the AWS SDK for Python) at a fixed time, for sigv4_test.cc to compare ours with.

Each case is given unencoded (path, query, headers); the URL handed to botocore is encoded the way
botocore's own S3 serializer encodes keys (quote, safe '/~'), so the vectors are what a botocore
client sends. Run by hack/s3/sigv4-vectors.sh (botocore pinned in versions.env).
"""
import datetime
import hashlib
import json
import sys
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOW = datetime.datetime(2026, 12, 4, 12, 34, 56, tzinfo=datetime.timezone.utc)
KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
ADDED = {"x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}


class UnsignedPayload:
    s3 = {"payload_signing_enabled": False}


def case(name, method, host, path, query=(), headers=(), body=b"", region="us-east-1",
         token=None, unsigned=False, scheme="http"):
    url = f"{scheme}://{host}{quote(path, safe='/~')}"
    if query:
        url += "?" + "&".join(quote(k, safe="-_.~") + ("=" + quote(v, safe="-_.~") if v else "")
                              for k, v in query)
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    if unsigned:
        request.context["client_config"] = UnsignedPayload()
    auth = botocore.auth.S3SigV4Auth(Credentials(*KEY, token), "s3", region)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=NOW):
        auth.add_auth(request)
    # The canonical request as add_auth built it: without the Authorization it then added.
    authorization = request.headers["Authorization"]
    del request.headers["Authorization"]
    canonical = auth.canonical_request(request)
    signed = auth.headers_to_sign(request)
    return {
        "name": name, "method": method, "path": path,
        "query": [[k, v] for k, v in query],
        # What the caller signs; the signer adds the x-amz-* it owns itself.
        "headers": [[k, v] for k, v in signed.items() if k not in ADDED],
        "payload_sha256": "UNSIGNED-PAYLOAD" if unsigned else hashlib.sha256(body).hexdigest(),
        "region": region, "session_token": token or "",
        "canonical_request": canonical,
        "string_to_sign": auth.string_to_sign(request, canonical),
        "authorization": authorization,
    }


def main(out):
    local = "127.0.0.1:7070"
    cases = [
        case("get object with range", "GET", local, "/bucket/sstables/nb-1-big-Data.db",
             headers=[("Range", "bytes=0-1048575")]),
        case("put object with metadata", "PUT", local, "/bucket/data/f1",
             headers=[("Content-Type", "application/octet-stream"),
                      ("x-amz-meta-sha256", "abc123"), ("Content-Length", "11")],
             body=b"hello world"),
        case("head object, key with spaces and symbols", "HEAD", local,
             "/bucket/dir with space/k+e=y&x*(1)!'~@$,;:.db"),
        case("key with non-ascii bytes", "GET", local, "/bucket/r\u00e9sum\u00e9/\u65e5\u672c"),
        case("list objects v2, paginated", "GET", local, "/bucket",
             query=[("list-type", "2"), ("prefix", "cluster a/node 1/"), ("delimiter", "/"),
                    ("max-keys", "1000"), ("continuation-token", "1/abc+def==")]),
        case("create multipart upload", "POST", local, "/bucket/big/file.db",
             query=[("uploads", "")]),
        case("upload part, unsigned payload", "PUT", local, "/bucket/big/file.db",
             query=[("partNumber", "2"), ("uploadId", "2~abc/def+ghi=")],
             headers=[("Content-Length", "5242880")], body=b"x" * 64, unsigned=True),
        case("complete multipart upload", "POST", local, "/bucket/big/file.db",
             query=[("uploadId", "2~abc/def+ghi=")],
             headers=[("Content-Type", "application/xml")],
             body=b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
                  b"<ETag>\"e1\"</ETag></Part></CompleteMultipartUpload>"),
        case("delete objects", "POST", local, "/bucket", query=[("delete", "")],
             headers=[("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
             body=b"<Delete><Object><Key>a</Key></Object></Delete>"),
        case("temporary credentials", "GET", local, "/bucket/k", token="FQoGZXIvYXdzEXAMPLE//token="),
        case("virtual-hosted style, another region, https", "GET",
             "bucket.s3.eu-west-3.amazonaws.com", "/manifests/backup-1.json",
             region="eu-west-3", scheme="https"),
        case("header values trimmed, inner spaces folded", "PUT", local, "/bucket/k",
             headers=[("x-amz-meta-note", "  two   spaces\tand a tab  "),
                      ("X-Amz-Storage-Class", "STANDARD")], body=b"v"),
        case("bucket root", "HEAD", local, "/bucket"),
    ]
    doc = {"generator": f"botocore {botocore.__version__} S3SigV4Auth",
           "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "access_key_id": KEY[0], "secret_access_key": KEY[1], "cases": cases}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
