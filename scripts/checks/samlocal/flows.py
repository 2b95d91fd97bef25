"""The sam-local check's own flows, over HTTP against `sam local start-api`
with mail read back from moto's SES: a reset by link ending in a sign-in
with the new password, and a Cognito pool user's reset through each address
contract ending in boto3 signing in to the pool."""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from target import StackTarget, link_in  # noqa: E402

# Loopback only: no proxy may see a token.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# A mail here is two `sam local invoke`s of send-email away (the request's
# intake record, then its outbox item), each a container started for it
# (5-15 s on 2 busy cores), behind whatever records the stream held before:
# well past the 30 s a check gives `rekeyctl serve`, whose outbox is
# written at once. The peer checks get this bound through the target file.
MAIL_DEADLINE = 180
# Reading the mail back dumps all of moto's state, which holds up every
# function's call to moto (one request at a time): not more than once a
# second.
MAIL_POLL_SECONDS = 1.0
OLD_PASSWORD = "Old-Passw0rd-before-sam-local"
NEW_PASSWORD = "Fresh-Quartz-Lantern-82-Harbor!"
ADDRESS_CONTRACTS = ("payabli", "django-rest-registration", "account recovery")


def http(method, url, body=None, headers=None, form=False):
    """(status, headers, parsed JSON or text) of one request."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(req, timeout=60) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def expect(status, want, what, body):
    assert status == want, "%s: HTTP %s (want %s): %r" % (what, status, want, body)


def wait_mail(target, address, before):
    """The newest mail to `address` once there are more than `before`
    (bounded: the stream step takes a few `sam local invoke`s)."""
    end = time.monotonic() + MAIL_DEADLINE
    while time.monotonic() < end:
        mails = target.mails_to(address)
        if len(mails) > before:
            return mails[-1]
        time.sleep(MAIL_POLL_SECONDS)
    raise AssertionError("no mail to %s in moto's SES within %d s" % (address, MAIL_DEADLINE))


def query_of(link):
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(link).query).items()}


def link_reset(ctx, base, target_path):
    """Payabli request -> stream -> SES -> the link's page -> validate ->
    reset -> used -> sign-in with the new password at /oauth/token."""
    target = StackTarget(target_path)
    address = "linus@example.com"
    key = target.admin(["key", "create", "--scope", "reset:request", "--name", "sam-local"])
    target.admin(["user", "add", "--email", address, "--password-stdin"], stdin=OLD_PASSWORD + "\n")
    before = len(target.mails_to(address))
    status, _, body = http("POST", base + "/api/User/authreset", {"email": address}, {"requestToken": key})
    expect(status, 200, "request-reset", body)
    assert body.get("isSuccess") is True, body
    mail = wait_mail(target, address, before)
    link = link_in(mail, r"(http://127\.0\.0\.1:\d+/reset\?token=rkt_[A-Za-z0-9_-]+)")
    token = query_of(link)["token"]
    status, headers, page = http("GET", link)
    expect(status, 200, "the link's page (reset-page)", page[:200])
    assert headers.get("Content-Type", "").startswith("text/html"), headers
    status, _, body = http("GET", base + "/auth/reset/validate?" + urllib.parse.urlencode({"token": token}))
    expect(status, 200, "validate-token", body)
    assert body.get("email") == address, body
    reset = {"token": token, "password": NEW_PASSWORD}
    status, _, body = http("POST", base + "/auth/reset/password", reset)
    expect(status, 200, "reset-password", body)
    status, _, body = http("POST", base + "/auth/reset/password", reset)
    expect(status, 403, "reset-password with the used token", body)
    sign_in = {"grant_type": "password", "username": address, "client_id": "rekey"}
    status, _, body = http("POST", base + "/oauth/token", dict(sign_in, password=NEW_PASSWORD), form=True)
    expect(status, 200, "oauth-token with the new password", body)
    assert body.get("access_token") and body.get("token_type") == "Bearer", body
    status, _, body = http("POST", base + "/oauth/token", dict(sign_in, password=OLD_PASSWORD), form=True)
    expect(status, 400, "oauth-token with the old password", body)
    assert body.get("error") == "invalid_grant", body


class Pool:
    """A Cognito user pool with an app client (admin password sign-in), on
    moto, as an operator would have it before setting CognitoUserPoolId."""

    def __init__(self, client):
        self.client = client
        self.pool_id = client.create_user_pool(PoolName="rekey-sam-local")["UserPool"]["Id"]
        self.client_id = client.create_user_pool_client(
            UserPoolId=self.pool_id, ClientName="rekey",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        self.count = 0

    def add_user(self, address):
        self.count += 1
        username = "pool-user-%d" % self.count
        self.client.admin_create_user(
            UserPoolId=self.pool_id, Username=username, TemporaryPassword="Temp-Passw0rd-1!",
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": address}, {"Name": "email_verified", "Value": "true"}],
        )
        self.client.admin_set_user_password(UserPoolId=self.pool_id, Username=username,
                                            Password=OLD_PASSWORD, Permanent=True)
        return username

    def signs_in(self, username, password):
        try:
            out = self.client.admin_initiate_auth(
                UserPoolId=self.pool_id, ClientId=self.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except self.client.exceptions.NotAuthorizedException:
            return False
        return bool(out.get("AuthenticationResult", {}).get("AccessToken"))


def pool_reset(ctx, base, target_path, pool, contract):
    """A pool user's reset through `contract`, from the request to boto3
    signing in to the pool with the new password."""
    target = StackTarget(target_path)
    slug = re.sub(r"[^a-z]+", "-", contract)
    address = "pool-%s@example.com" % slug
    username = pool.add_user(address)
    assert pool.signs_in(username, OLD_PASSWORD), "the pool refuses its user's first password"
    before = len(target.mails_to(address))
    if contract == "payabli":
        key = target.admin(["key", "create", "--scope", "reset:request", "--name", "sam-local-pool"])
        status, _, body = http("POST", base + "/api/User/authreset", {"email": address}, {"requestToken": key})
        expect(status, 200, "request-reset", body)
        mail = wait_mail(target, address, before)
        link = link_in(mail, r"(http://127\.0\.0\.1:\d+/reset\?token=rkt_[A-Za-z0-9_-]+)")
        status, _, body = http("POST", base + "/auth/reset/password",
                               {"token": query_of(link)["token"], "password": NEW_PASSWORD})
        expect(status, 200, "reset-password", body)
    elif contract == "django-rest-registration":
        status, _, body = http("POST", base + "/api/v1/iam/accounts/send-reset-password-link/", {"login": address})
        expect(status, 200, "send-reset-link", body)
        mail = wait_mail(target, address, before)
        link = link_in(mail, r"(http://127\.0\.0\.1:\d+/reset-password/\?[^\s\"<>]+)")
        q = query_of(link.replace("&amp;", "&"))
        status, _, body = http("POST", base + "/api/v1/iam/accounts/reset-password/", {
            "user_id": q["user_id"], "timestamp": q["timestamp"], "signature": q["signature"],
            "password": NEW_PASSWORD})
        expect(status, 200, "reset-password-signed", body)
    else:
        status, _, body = http("POST", base + "/api/v2/account/recover/", {"email": address})
        expect(status, 200, "recover-account", body)
        mail = wait_mail(target, address, before)
        code = link_in(mail, r"validation_code=(rkt_[A-Za-z0-9_-]+)")
        status, _, body = http("POST", base + "/api/v2/account/reset/",
                               {"validation_code": code, "password": NEW_PASSWORD})
        expect(status, 200, "reset-account", body)
        assert body.get("token", {}).get("access_token"), body
    assert pool.signs_in(username, NEW_PASSWORD), "the pool refuses the new password"
    assert not pool.signs_in(username, OLD_PASSWORD), "the pool still takes the old password"
