"""Every events/*.json fed to its function under cargo lambda's runtime
emulator (`cargo lambda watch` + `cargo lambda invoke --data-file`), with
DynamoDB and SES on moto, each checked for the status it is meant to produce.

The samples' EXAMPLE placeholders are filled as an operator would fill them:
the key and user come from `rekeyctl --dynamodb`, and tokens, codes and
signed links from the mail that the send-email function really delivers
through SES (read back from moto).

usage: python lambda-events.py REKEYCTL    (MOTO_ENDPOINT set, cargo-lambda on PATH)
"""

import base64
import email
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from email import policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVENTS = os.path.join(ROOT, "events")
MOTO = os.environ["MOTO_ENDPOINT"]
KEY = "rkk_EXAMPLE_API_KEY_REPLACE_ME_000000000000000"
TOKEN = "rkt_EXAMPLE_LINK_TOKEN_REPLACE_ME_00000000000"
USER = "EXAMPLE-USER-ID"
SENDER = "no-reply@acme.example"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + name + (f" ({detail})" if detail and not ok else ""), flush=True)


def moto_call(service, target, body, content_type="application/x-amz-json-1.0", path="/"):
    auth = f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    headers = {"Content-Type": content_type, "Authorization": auth}
    if target:
        headers["X-Amz-Target"] = target
    req = urllib.request.Request(MOTO + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    with OPENER.open(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def items_of(table, kind):
    page = moto_call("dynamodb", "DynamoDB_20120810.Scan", {
        "TableName": table, "ConsistentRead": True,
        "FilterExpression": "#k = :k", "ExpressionAttributeNames": {"#k": "kind"},
        "ExpressionAttributeValues": {":k": {"S": kind}},
    })
    return [(i["id"]["S"], i["sealed"]["S"]) for i in page.get("Items", [])]


def outbox_items(table):
    return items_of(table, "outbox")


def intake_event(intake_id, sealed):
    """send-email's sample rewritten to carry an intake item (an address
    request) instead of an outbox item, as the table's stream delivers it."""
    raw = open(os.path.join(EVENTS, "send-email.json")).read()
    raw = (raw.replace("OUTBOX#EXAMPLE-OUTBOX-ID", f"INTAKE#{intake_id}").replace('"OUTBOX"', '"INTAKE"')
           .replace('"outbox"', '"intake"').replace("EXAMPLE-OUTBOX-ID", intake_id)
           .replace("EXAMPLE_SEALED_MESSAGE", sealed))
    return json.loads(raw)


def sent_texts(to):
    # The state dump of a busy shared moto can take longer than a call.
    with OPENER.open(MOTO + "/moto-api/data.json", timeout=180) as r:
        data = json.loads(r.read())
    texts = []
    for m in data.get("ses", {}).get("RawMessage", []):
        if to in m.get("destinations", []):
            msg = email.message_from_string(m["raw_data"], policy=policy.default)
            texts.append(msg.get_body(preferencelist=("plain",)).get_content())
    return texts


def link_params(text):
    link = next(w for w in text.split() if w.startswith("http"))
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))


class Emulator:
    def __init__(self, env_file):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = open(os.path.join(ROOT, "target", "lambda-watch.log"), "w")
        self.proc = subprocess.Popen(
            ["cargo", "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", str(self.port), "--env-file", env_file],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("cargo lambda watch exited; see target/lambda-watch.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("cargo lambda watch did not listen within 120 s")

    def invoke(self, function, event):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(event, f)
        try:
            out = subprocess.run(
                ["cargo", "lambda", "invoke", function, "-A", "127.0.0.1", "-P", str(self.port), "--data-file", f.name],
                cwd=ROOT, capture_output=True, text=True, timeout=900,
            )
        finally:
            os.unlink(f.name)
        if out.returncode != 0:
            raise RuntimeError(f"invoke {function} failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def event(name, subs):
    raw = open(os.path.join(EVENTS, f"{name}.json")).read()
    for k, v in subs.items():
        raw = raw.replace(k, v)
    return json.loads(raw)


def http(em, name, subs, want, what=None):
    resp = em.invoke(name, event(name, subs))
    body = json.loads(resp.get("body") or "null")
    check(f"{name}: {what or want}", resp.get("statusCode") == want, f"got {resp.get('statusCode')}: {resp.get('body')}")
    return body


def stream_invoke(em, record_event):
    """send-email on one stream record, retried while it reports the record
    failed, as the event source mapping does (a busy moto can time out)."""
    for _ in range(4):
        resp = em.invoke("send-email", record_event)
        if resp.get("batchItemFailures") == []:
            break
        time.sleep(2)
    return resp


def deliver(em, table, to):
    """send-email, fed each queued address request (which queues its mail),
    then the sample with each queued outbox item; returns the new mail texts."""
    before = len(sent_texts(to))
    for intake_id, sealed in items_of(table, "intake"):
        resp = stream_invoke(em, intake_event(intake_id, sealed))
        check("send-email: request delivered", resp.get("batchItemFailures") == [], json.dumps(resp))
    check("send-email: intake drained", items_of(table, "intake") == [], "items left")
    items = outbox_items(table)
    for outbox_id, sealed in items:
        resp = stream_invoke(em, event("send-email", {"EXAMPLE-OUTBOX-ID": outbox_id, "EXAMPLE_SEALED_MESSAGE": sealed}))
        check("send-email: no batch item failures", resp.get("batchItemFailures") == [], json.dumps(resp))
    check("send-email: outbox drained", outbox_items(table) == [], "items left")
    return sent_texts(to)[before:]


def rekeyctl(binary, env, *args, stdin=None):
    out = subprocess.run([binary, "--dynamodb", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"rekeyctl {' '.join(args)} failed: {out.stderr}")
    return out.stdout.strip()


def main():
    binary = sys.argv[1]
    table = f"events-{uuid.uuid4().hex[:12]}"
    secret = base64.b64encode(os.urandom(32)).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REKEY_")}
    env.update({
        "AWS_ENDPOINT_URL": MOTO, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "REKEY_TABLE": table, "REKEY_SECRET": secret,
        "REKEY_RESET_URL": "https://app.example.com/reset?token={token}",
        "REKEY_MAIL_FROM": f"Acme <{SENDER}>", "REKEY_PRODUCT_NAME": "Acme",
        # One address is mailed by three contracts within a minute here.
        "REKEY_LIMIT_EMAIL_PER_MINUTE": "100",
        # oauth-token's sample signs in through the recovery client, which
        # a deployment keeps off the password grant unless told.
        "REKEY_OAUTH_CLIENT_FIRST_PARTY": "true",
    })
    rekeyctl(binary, env, "table", "create", "--table", table)
    moto_call("ses", None, {"EmailIdentity": SENDER}, "application/json", "/v2/email/identities")
    # The access-token signing key reset-account signs with, discovery
    # publishes and oauth-userinfo verifies with.
    env["REKEY_SIGNING_KEY"] = moto_call("kms", "TrentService.CreateKey", {
        "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY", "Description": "lambda-events"},
        "application/x-amz-json-1.1")["KeyMetadata"]["Arn"]
    user = rekeyctl(binary, env, "user", "add", "--email", "ada@example.com", "--id", f"ada-{table}",
                    "--name", "Ada", "--org", "acme", "--password-stdin", stdin="Old-Passw0rd-kept-long\n")
    # users:admin too: request-user-reset's sample asks returnCode.
    # Bound to Ada's organisation: a key acts only on its organisation's users.
    key = rekeyctl(binary, env, "key", "create", "--scope", "reset:request", "--scope", "users:write",
                   "--scope", "users:admin", "--org", "acme")
    # As template.yaml deploys them, the functions get the service secret's
    # ARN, not its value, and read it from Secrets Manager (moto) at init;
    # rekeyctl above reads the value itself.
    env["REKEY_SECRET_ID"] = moto_call("secretsmanager", "secretsmanager.CreateSecret", {
        "Name": f"lambda-events-{table}", "SecretString": secret}, "application/x-amz-json-1.1")["ARN"]
    env["REKEY_SECRET_ROTATION"] = "none"
    env_file = tempfile.NamedTemporaryFile("w", suffix=".env", delete=False)
    for k in ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "REKEY_TABLE",
              "REKEY_SECRET_ID", "REKEY_SECRET_ROTATION", "REKEY_RESET_URL", "REKEY_MAIL_FROM",
              "REKEY_PRODUCT_NAME", "REKEY_LIMIT_EMAIL_PER_MINUTE", "REKEY_SIGNING_KEY",
              "REKEY_OAUTH_CLIENT_FIRST_PARTY"]:
        env_file.write(f'{k}="{env[k]}"\n')
    env_file.write('NO_PROXY="127.0.0.1,localhost"\n')
    env_file.close()
    em = Emulator(env_file.name)
    try:
        http(em, "request-reset", {KEY: key}, 200)
        token = link_params(deliver(em, table, "ada@example.com")[-1])["token"]
        http(em, "validate-token", {TOKEN: token}, 200)
        page = em.invoke("reset-page", event("reset-page", {TOKEN: token}))
        headers = {k.lower(): v for k, v in (page.get("headers") or {}).items()}
        check("reset-page: 200 text/html with a strict policy",
              page.get("statusCode") == 200 and headers.get("content-type", "").startswith("text/html")
              and "script-src 'self'" in headers.get("content-security-policy", "")
              and "unsafe-inline" not in headers.get("content-security-policy", ""),
              f"got {page.get('statusCode')}: {headers}")
        http(em, "validate-token", {TOKEN: token}, 200, "200 after the page was served (GET never consumes)")
        http(em, "validate-password", {}, 200)
        http(em, "reset-password", {TOKEN: token}, 200)
        http(em, "reset-password", {TOKEN: token}, 403, "403 the second time")
        http(em, "reset-password", {}, 401, "401 with the sample's placeholder token")
        deliver(em, table, "ada@example.com")  # the "password changed" notice

        code = http(em, "request-user-reset", {KEY: key, USER: user}, 200).get("verificationCode", "")
        check("request-user-reset: returns a code", len(code) == 6, code)
        http(em, "set-password", {KEY: key, USER: user, "EXAMPLECODE": code}, 200)
        http(em, "set-password", {KEY: key, USER: user}, 400, "400 with the sample's placeholder code")
        deliver(em, table, "ada@example.com")

        http(em, "send-reset-link", {}, 200)
        q = link_params(deliver(em, table, "ada@example.com")[-1])
        subs = {USER: q["user_id"], "1795374000": q["timestamp"], "EXAMPLE_SIGNATURE": q["signature"]}
        http(em, "reset-password-signed", subs, 200)
        http(em, "reset-password-signed", {USER: user}, 400, "400 with the sample's signature")
        deliver(em, table, "ada@example.com")

        http(em, "recover-account", {}, 200)
        code = link_params(deliver(em, table, "ada@example.com")[-1])["validation_code"]
        body = http(em, "reset-account", {TOKEN: code}, 200)
        check("reset-account: logs in", body.get("token", {}).get("token_type") == "Bearer", json.dumps(body))
        # Sign in with the password reset-account's sample set, then revoke
        # the session it started.
        tokens = http(em, "oauth-token", {}, 200)
        check("oauth-token: signs in", tokens.get("token_type") == "Bearer" and
              tokens.get("refresh_token", "").startswith("rkr_"), json.dumps(tokens))
        http(em, "oauth-revoke", {"rkr_EXAMPLE_REFRESH_TOKEN_REPLACE_ME_0000000": tokens.get("refresh_token", "")}, 200)
        http(em, "oauth-revoke", {}, 200, "200 for the sample's unknown token")
        jwks = http(em, "discovery", {}, 200)
        header = json.loads(base64.urlsafe_b64decode(body["token"]["access_token"].split(".")[0] + "=="))
        check("discovery: the JWKS publishes the token's kid",
              header.get("typ") == "at+jwt" and header.get("kid") in [k.get("kid") for k in jwks.get("keys", [])],
              f"{header} {jwks}")
        # userinfo fetches the public keys from KMS: it answers the token
        # reset-account had KMS sign (scripts/moto_serial.py signs a DIGEST
        # as KMS does) and refuses the sample's placeholder.
        info = http(em, "oauth-userinfo", {"eyJ_EXAMPLE_ACCESS_TOKEN_REPLACE_ME": body["token"]["access_token"]},
                    200, "200 for the token reset-account had KMS sign")
        check("oauth-userinfo: the reset account's address", info.get("email") == "ada@example.com", json.dumps(info))
        http(em, "oauth-userinfo", {}, 401, "401 with the sample's placeholder token")
    finally:
        em.stop()
        os.unlink(env_file.name)
    failed = results.count(False)
    print(f"lambda-events: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
