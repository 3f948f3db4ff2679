"""Off-the-shelf clients against a live Airlock (driven by tests/tests/api/interop.rs).

    python clients.py BASE CLIENT_ID CLIENT_SECRET WEBHOOK_URL WEBHOOK_SECRET

1. Discovers the token endpoint and the JWKS from RFC 8414 metadata.
2. Authlib fetches a token with the client-credentials grant.
3. PyJWT verifies that token with the key it finds in the JWKS (by `kid`).
4. The `standardwebhooks` signer and Svix's signer each sign an event the way
   their senders do, and Airlock accepts both (202), under the `webhook-*` and the
   `svix-*` header names.

Prints one JSON line of what it saw; exits non-zero on the first failure.
"""

import json
import sys
import time
import uuid
from datetime import datetime, timezone

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook


def main() -> None:
    base, client_id, client_secret, webhook_url, webhook_secret = sys.argv[1:6]
    seen = {}

    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    seen["issuer"] = meta["issuer"]

    session = OAuth2Session(client_id, client_secret, scope="connectors:read")
    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    access = token["access_token"]
    seen["token_type"] = token["token_type"]

    jwks = jwt.PyJWKClient(meta["jwks_uri"])
    key = jwks.get_signing_key_from_jwt(access)
    claims = jwt.decode(
        access,
        key.key,
        algorithms=["EdDSA"],
        audience="airlock-api",
        issuer=meta["issuer"],
    )
    seen["scope"] = claims["scope"]
    # The token works at the API it was issued for.
    r = requests.get(f"{base}/api/connectors", headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text)

    payload = json.dumps({"reading": 21.5, "sent_by": "interop"})
    statuses = {}
    for name, signer, prefix in [
        ("standardwebhooks", StandardWebhook(webhook_secret), "webhook"),
        ("svix", SvixWebhook(webhook_secret), "svix"),
    ]:
        msg_id = f"msg_{uuid.uuid4().hex}"
        now = int(time.time())
        signature = signer.sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), payload)
        headers = {
            "content-type": "application/json",
            f"{prefix}-id": msg_id,
            f"{prefix}-timestamp": str(now),
            f"{prefix}-signature": signature,
        }
        r = requests.post(webhook_url, data=payload, headers=headers, timeout=10)
        statuses[name] = r.status_code
        assert r.status_code == 202, (name, r.status_code, r.text)
    seen["webhooks"] = statuses
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
