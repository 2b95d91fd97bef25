#!/usr/bin/env python3
"""rekey's access tokens through a JOSE library nobody here wrote.

    python scripts/checks/jwks.py path/to/rekeyctl
    python scripts/checks/jwks.py --target FILE

Starts `rekeyctl serve` on a fresh data dir (or uses the stack under `sam
local start-api` FILE describes, scripts/checks/target.py) with one
account, recovers it
(POST /api/v2/account/recover/, the link from the outbox, POST
/api/v2/account/reset/), then verifies the access token with PyJWT
(pinned in scripts/requirements-test.txt): the issuer's discovery document
names the jwks_uri, PyJWKClient fetches the key by the token's kid, and
jwt.decode checks the RS256 signature, iss, aud and exp; the discovery
document's userinfo_endpoint answers for the token and refuses it
tampered. Prints `ok - ...` /
`not ok - ...` lines and `jwks: N passed, M failed`; exits 0 iff all passed.
"""

import json
import os
import sys
import traceback
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sdk_check import tampered, wait_for  # noqa: E402
from target import link_in, open_target  # noqa: E402

import jwt  # noqa: E402  (PyJWT)

EMAIL = "grace@example.com"
NEW_PASSWORD = "Recovered-Passw0rd-9z!"
AUDIENCE = "rekey"
# Loopback only: no proxy may see the token.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with OPENER.open(req, timeout=30) as resp:
        return resp.status, resp.headers, json.loads(resp.read() or b"{}")


def main(argv):
    target = open_target(argv, "rekey-jwks-")
    results = []

    def check(name, fn):
        try:
            fn()
            results.append(True)
            print("ok - %s" % name)
        except Exception:  # noqa: BLE001  (reported, then counted)
            results.append(False)
            print("not ok - %s" % name)
            traceback.print_exc(file=sys.stdout)

    try:
        target.admin(["user", "add", "--email", EMAIL])
        base = target.start()
        state = {}

        def recover():
            status, _, _ = call("POST", base + "/api/v2/account/recover/", {"email": EMAIL})
            assert status == 200, status
            mails = wait_for("the recovery mail", lambda: target.mails_to(EMAIL),
                             target.mail_deadline, target.mail_poll_interval)
            code = link_in(mails[-1], r"validation_code=(rkt_[A-Za-z0-9_-]+)")
            status, _, body = call(
                "POST", base + "/api/v2/account/reset/",
                {"validation_code": code, "password": NEW_PASSWORD},
            )
            assert status == 200, (status, body)
            state["token"] = body["token"]["access_token"]

        def discovery():
            status, headers, doc = call("GET", base + "/.well-known/openid-configuration")
            assert status == 200, status
            assert doc["issuer"] == base, doc
            assert "max-age" in headers.get("Cache-Control", ""), headers
            for endpoint, path in [("token_endpoint", "/oauth/token"), ("revocation_endpoint", "/oauth/revoke"),
                                   ("userinfo_endpoint", "/oauth/userinfo")]:
                assert doc[endpoint] == base + path, (endpoint, doc)
            assert doc["grant_types_supported"] == ["password", "refresh_token"], doc
            for methods in ["token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"]:
                assert doc[methods] == ["none", "client_secret_basic", "client_secret_post"], doc
            state["issuer"], state["jwks_uri"] = doc["issuer"], doc["jwks_uri"]
            state["userinfo"] = doc["userinfo_endpoint"]

        def userinfo(token):
            req = urllib.request.Request(state["userinfo"], headers={"Authorization": "Bearer " + token})
            try:
                with OPENER.open(req, timeout=30) as resp:
                    return resp.status, resp.headers, json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as e:
                return e.code, e.headers, json.loads(e.read() or b"{}")

        def userinfo_answers_and_refuses():
            status, headers, body = userinfo(state["token"])
            assert status == 200, (status, body)
            assert body["email"] == EMAIL and body["sub"], body
            assert headers.get("Cache-Control") == "no-store", headers
            status, headers, body = userinfo(tampered(state["token"]))
            assert status == 401, (status, body)
            assert headers.get("WWW-Authenticate") == 'Bearer error="invalid_token"', headers

        def verify():
            header = jwt.get_unverified_header(state["token"])
            assert header["typ"] == "at+jwt" and header["alg"] == "RS256", header
            client = jwt.PyJWKClient(state["jwks_uri"], cache_keys=False)
            key = client.get_signing_key_from_jwt(state["token"])
            assert key.key_id == header["kid"], (key.key_id, header)
            claims = jwt.decode(
                state["token"], key, algorithms=["RS256"], audience=AUDIENCE,
                issuer=state["issuer"], options={"require": ["exp", "iss", "aud", "sub", "jti"]},
            )
            assert claims["client_id"] and claims["scope"], claims

        def refuses_other_audience_and_tampering():
            client = jwt.PyJWKClient(state["jwks_uri"], cache_keys=False)
            key = client.get_signing_key_from_jwt(state["token"])
            for token, audience in [(state["token"], "someone-else"), (tampered(state["token"]), AUDIENCE)]:
                try:
                    jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=state["issuer"])
                except jwt.InvalidTokenError:
                    continue
                raise AssertionError("PyJWT accepted a token it should refuse")

        check("recovery reset answers an access token", recover)
        check("discovery names the issuer and jwks_uri, cacheable", discovery)
        check("PyJWKClient + jwt.decode verify RS256, kid, iss, aud, exp", verify)
        check("another audience and a tampered signature are refused", refuses_other_audience_and_tampering)
        check("userinfo answers the token's account and refuses a tampered one", userinfo_answers_and_refuses)
    except Exception:  # noqa: BLE001
        results.append(False)
        print("not ok - setup")
        traceback.print_exc(file=sys.stdout)
        print("\n".join(target.log_tail()))
    finally:
        target.stop()
    passed = sum(results)
    print("jwks: %d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
