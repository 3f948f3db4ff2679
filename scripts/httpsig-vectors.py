#!/usr/bin/env python3
"""Writes tests/fixtures/rsa/vectors.json: push requests signed per RFC 9421 by an
independent implementation (the `http-message-signatures` package, with
`cryptography`), for Airlock's verifier to accept. Run it in a venv:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install http-message-signatures==0.5.0
    /tmp/v/bin/python scripts/httpsig-vectors.py

Test-only: never part of the product.
"""
import base64
import datetime
import hashlib
import json
import pathlib

from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

ROOT = pathlib.Path(__file__).resolve().parent.parent
KEYS = ROOT / "tests" / "fixtures" / "rsa"
KEY_ID = "key_vectors"
CREATED = 1_700_000_000


class Keys(HTTPSignatureKeyResolver):
    def resolve_private_key(self, key_id):
        assert key_id == KEY_ID
        return (KEYS / "sender.pem").read_bytes()


class Message:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


def digest(body, alg):
    h = hashlib.sha512 if alg == "sha-512" else hashlib.sha256
    return f"{alg}=:{base64.b64encode(h(body).digest()).decode()}:"


def vector(name, algorithm, covered, body, digest_alg="sha-512", include_alg=True, label=None):
    url = "http://127.0.0.1:8080/api/events/ingest/tenant-1/connector-1"
    headers = {
        "Host": "127.0.0.1:8080",
        "Content-Type": "application/json",
        "Content-Digest": digest(body, digest_alg),
    }
    msg = Message("POST", url, headers)
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=Keys()).sign(
        msg,
        key_id=KEY_ID,
        created=datetime.datetime.fromtimestamp(CREATED, tz=datetime.timezone.utc),
        covered_component_ids=covered,
        include_alg=include_alg,
        label=label,
    )
    return {
        "name": name,
        "method": "POST",
        "path": "/api/events/ingest/tenant-1/connector-1",
        "headers": {k.lower(): v for k, v in msg.headers.items()},
        "body": body.decode(),
        "key_id": KEY_ID,
        "created": CREATED,
    }


body = b'{"type": "alert", "n": 1}'
vectors = [
    vector("pss-sha512", algorithms.RSA_PSS_SHA512, ("@method", "@path", "content-digest"), body),
    vector("v1_5-sha256", algorithms.RSA_V1_5_SHA256, ("@method", "@path", "content-digest"), body),
    vector(
        "pss-more-components-no-alg",
        algorithms.RSA_PSS_SHA512,
        ("@method", "@authority", "@path", "content-digest", "content-type"),
        body,
        include_alg=False,
        label="sig-b",
    ),
    vector(
        "v1_5-sha256-digest",
        algorithms.RSA_V1_5_SHA256,
        ("content-digest", "@path", "@method"),
        b"[]",
        digest_alg="sha-256",
    ),
]
out = KEYS / "vectors.json"
out.write_text(json.dumps(vectors, indent=2) + "\n")
print(f"wrote {len(vectors)} vectors to {out}")
