#!/usr/bin/env python3
"""rekey's token endpoint through an OAuth 2.0 client nobody here wrote.

    python scripts/checks/oauth.py path/to/rekeyctl
    python scripts/checks/oauth.py --target FILE

Starts `rekeyctl serve` on a fresh data dir (or uses the stack under `sam
local start-api` FILE describes, scripts/checks/target.py) with one
account, then drives it with Authlib's httpx OAuth2Client (pinned in
scripts/requirements-test.txt) as the demo client `rekey` (public,
first-party): the password grant, the refresh grant (the old refresh token
is refused afterwards, and presenting it revokes its family), and RFC 7009
revocation through `revoke_token`. Each access token is verified with
PyJWT's PyJWKClient through discovery's jwks_uri (RS256, kid, iss, aud,
exp). The endpoints come from discovery when it lists them, else the fixed
paths /oauth/token and /oauth/revoke. Prints `ok - ...` / `not ok - ...`
lines and `oauth: N passed, M failed`; exits 0 iff all passed.
"""

import json
import os
import sys
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sdk_check import tampered  # noqa: E402
from target import open_target  # noqa: E402

import jwt  # noqa: E402  (PyJWT)
from authlib.integrations.httpx_client import OAuth2Client  # noqa: E402

EMAIL = "katherine@example.com"
PASSWORD = "Orbital-Mechanics-62-Hampton"
CLIENT_ID = "rekey"
AUDIENCE = "rekey"
SCOPE = "account"
# Loopback only: no proxy may see a token.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url):
    with OPENER.open(url, timeout=30) as resp:
        return json.loads(resp.read())


def refused(fn, error):
    """Runs fn, which must fail with the OAuth error `error`."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (Authlib raises OAuthError)
        got = getattr(e, "error", None)
        assert got == error, "expected %s, got %r (%s)" % (error, got, e)
        return
    raise AssertionError("accepted; expected %s" % error)


def main(argv):
    target = open_target(argv, "rekey-oauth-")
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
        target.admin(["user", "add", "--email", EMAIL, "--password-stdin"], stdin=PASSWORD + "\n")
        base = target.start()
        doc = get_json(base + "/.well-known/openid-configuration")
        token_url = doc.get("token_endpoint", base + "/oauth/token")
        revoke_url = doc.get("revocation_endpoint", base + "/oauth/revoke")
        jwks = jwt.PyJWKClient(doc["jwks_uri"], cache_keys=False)
        state = {}

        def client():
            # trust_env=False: no proxy from the environment.
            return OAuth2Client(client_id=CLIENT_ID, token_endpoint_auth_method="none",
                                scope=SCOPE, trust_env=False, timeout=30)

        def verify(access_token):
            header = jwt.get_unverified_header(access_token)
            assert header["typ"] == "at+jwt" and header["alg"] == "RS256", header
            key = jwks.get_signing_key_from_jwt(access_token)
            assert key.key_id == header["kid"], (key.key_id, header)
            claims = jwt.decode(access_token, key, algorithms=["RS256"], audience=AUDIENCE,
                                issuer=doc["issuer"],
                                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
            assert claims["client_id"] == CLIENT_ID and claims["scope"] == SCOPE, claims
            return claims

        def password_grant():
            with client() as c:
                token = c.fetch_token(token_url, username=EMAIL, password=PASSWORD)
            assert token["token_type"] == "Bearer", token
            assert token["refresh_token"].startswith("rkr_"), token
            assert token["scope"] == SCOPE and token["expires_in"] > 0, token
            verify(token["access_token"])
            state["first"] = token

        def wrong_password_refused():
            with client() as c:
                refused(lambda: c.fetch_token(token_url, username=EMAIL, password="Wrong-" + PASSWORD),
                        "invalid_grant")
                refused(lambda: c.fetch_token(token_url, username="nobody@example.com",
                                              password=PASSWORD), "invalid_grant")

        def refresh_rotates():
            old = state["first"]["refresh_token"]
            with client() as c:
                token = c.refresh_token(token_url, refresh_token=old)
            assert token["refresh_token"] != old, token
            verify(token["access_token"])
            state["second"] = token

        def reuse_revokes_the_family():
            with client() as c:
                refused(lambda: c.refresh_token(token_url, refresh_token=state["first"]["refresh_token"]),
                        "invalid_grant")
                # The successor died with its family.
                refused(lambda: c.refresh_token(token_url, refresh_token=state["second"]["refresh_token"]),
                        "invalid_grant")

        def revocation():
            with client() as c:
                token = c.fetch_token(token_url, username=EMAIL, password=PASSWORD)
                resp = c.revoke_token(revoke_url, token=token["refresh_token"],
                                      token_type_hint="refresh_token")
                assert resp.status_code == 200 and resp.content == b"", (resp.status_code, resp.text)
                refused(lambda: c.refresh_token(token_url, refresh_token=token["refresh_token"]),
                        "invalid_grant")
                # An access token or an unknown one: still 200 (RFC 7009 2.2).
                resp = c.revoke_token(revoke_url, token=token["access_token"])
                assert resp.status_code == 200, resp.status_code

        def tampering_refused():
            token = state["first"]["access_token"]
            key = jwks.get_signing_key_from_jwt(token)
            for t, audience in [(token, "someone-else"), (tampered(token), AUDIENCE)]:
                try:
                    jwt.decode(t, key, algorithms=["RS256"], audience=audience, issuer=doc["issuer"])
                except jwt.InvalidTokenError:
                    continue
                raise AssertionError("PyJWT accepted a token it should refuse")

        check("password grant through OAuth2Client; the access token verifies (kid, iss, aud, exp)",
              password_grant)
        check("a wrong password and an unknown address are invalid_grant", wrong_password_refused)
        check("refresh grant rotates the refresh token", refresh_rotates)
        check("the rotated token is refused and revokes its family", reuse_revokes_the_family)
        check("revoke_token revokes; the refresh token is refused afterwards", revocation)
        check("another audience and a tampered signature are refused", tampering_refused)
    except Exception:  # noqa: BLE001
        results.append(False)
        print("not ok - setup")
        traceback.print_exc(file=sys.stdout)
        print("\n".join(target.log_tail()))
    finally:
        target.stop()
    passed = sum(results)
    print("oauth: %d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
