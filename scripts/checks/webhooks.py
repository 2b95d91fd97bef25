#!/usr/bin/env python3
"""rekey's webhooks through the Standard Webhooks reference verifier.

    python scripts/checks/webhooks.py path/to/rekeyctl

Starts a receiver on the loopback that verifies every delivery with the
`standardwebhooks` package's own `Webhook.verify` (pinned in
scripts/requirements-test.txt), then `rekeyctl serve` with four endpoints
configured: `app` (accepts), `flaky` (answers 500 twice per webhook-id,
then 200), `down` (nothing listens) and `hashes` (opted in to
password_hash). Checks: a reset through the account-recovery contract
produces a verified `password.changed` with the right data; the flaky
endpoint gets the same webhook-id three times and the event is delivered;
the endpoint that is down is dead-lettered after the last retry, in a file
holding nothing in clear; `rekeyctl user disable` produces a verified
`account.disabled` only where the filter takes it; `rekeyctl webhook test`
reaches a configured endpoint and a URL given with --secret. Prints
`ok - ...` / `not ok - ...` lines and `webhooks: N passed, M failed`;
exits 0 iff all passed.
"""

import http.server
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sdk_check  # noqa: E402
from sdk_check import Server, eml_files_to, rekeyctl, validation_code, wait_for  # noqa: E402

from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402

EMAIL = "lin@example.com"
NEW_PASSWORD = "Webhooked-Passw0rd-4k!"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Receiver:
    """Records every POST with whether Webhook.verify accepted it."""

    def __init__(self):
        self.deliveries = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = OTHER_SECRET if self.path == "/adhoc" else SECRET
                try:
                    payload = Webhook(secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    payload, verified = None, False
                with receiver.lock:
                    earlier = [d for d in receiver.deliveries
                               if d["path"] == self.path and d["id"] == headers.get("webhook-id")]
                    status = 200
                    if self.path == "/flaky" and len(earlier) < 2:
                        status = 500
                    receiver.deliveries.append({
                        "path": self.path, "id": headers.get("webhook-id"),
                        "verified": verified, "payload": payload, "status": status,
                        "body": body,
                    })
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path, kind=None):
        with self.lock:
            return [d for d in self.deliveries if d["path"] == path
                    and (kind is None or (d["payload"] or {}).get("type") == kind)]

    def stop(self):
        self.server.shutdown()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with OPENER.open(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read() or b"{}")


def main(binary):
    data_dir = tempfile.mkdtemp(prefix="rekey-webhooks-")
    receiver = Receiver()
    endpoints = [
        {"name": "app", "url": receiver.base + "/ok"},
        {"name": "flaky", "url": receiver.base + "/flaky", "events": ["password.changed"]},
        {"name": "down", "url": "http://127.0.0.1:%d/hook" % free_port(), "events": ["password.changed"]},
        {"name": "hashes", "url": receiver.base + "/hashes", "events": ["password.changed"],
         "include_password_hash": True},
    ]
    extra = {
        "REKEY_WEBHOOKS": json.dumps(endpoints),
        "REKEY_WEBHOOK_SECRETS": json.dumps({e["name"]: SECRET for e in endpoints}),
        "REKEY_WEBHOOK_RETRY_DELAYS": "1,1",
    }
    plain_env = sdk_check.child_env
    sdk_check.child_env = lambda: {**plain_env(), **extra}
    server = None
    results = []
    state = {}

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
        state["user_id"] = rekeyctl(binary, data_dir, ["user", "add", "--email", EMAIL])
        server = Server(binary, data_dir)
        server.wait_listening()
        base = server.base

        def reset_reports_password_changed():
            outbox = os.path.join(data_dir, "outbox")
            status, _ = call("POST", base + "/api/v2/account/recover/", {"email": EMAIL})
            assert status == 200, status
            names = wait_for("the recovery mail", lambda: eml_files_to(outbox, EMAIL))
            code = validation_code(os.path.join(outbox, names[-1]))
            status, body = call("POST", base + "/api/v2/account/reset/",
                                {"validation_code": code, "password": NEW_PASSWORD})
            assert status == 200, (status, body)
            got = wait_for("password.changed at /ok", lambda: receiver.at("/ok", "password.changed"))
            assert len(got) == 1 and got[0]["verified"], got
            event = got[0]["payload"]
            data = event["data"]
            assert data["user_id"] == state["user_id"], data
            assert data["email"] == EMAIL, data
            assert data["contract"] == "account_recovery", data
            assert data["sessions_revoked"] is True, data
            assert "password_hash" not in data, data
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", event["timestamp"]), event
            assert got[0]["id"].startswith("msg_"), got[0]

        def opted_in_endpoint_gets_the_hash():
            got = wait_for("password.changed at /hashes", lambda: receiver.at("/hashes", "password.changed"))
            assert got[0]["verified"], got
            assert got[0]["payload"]["data"]["password_hash"].startswith("$argon2id$"), got

        def flaky_endpoint_gets_one_id_three_times():
            got = wait_for("the third attempt at /flaky",
                           lambda: (lambda d: d if len(d) >= 3 else None)(receiver.at("/flaky")))
            assert all(d["verified"] for d in got), got
            assert len({d["id"] for d in got}) == 1, [d["id"] for d in got]
            assert [d["status"] for d in got] == [500, 500, 200], got
            assert got[0]["payload"] == got[2]["payload"], got

        def dead_letter_after_the_last_retry():
            path = os.path.join(data_dir, "webhooks-dead-letter.jsonl")
            lines = wait_for("the dead-letter line",
                             lambda: os.path.exists(path) and open(path).read().splitlines())
            assert len(lines) == 1, lines
            line = json.loads(lines[0])
            assert line["outbox_id"].startswith("webhook-") and line["sealed"], line
            text = lines[0]
            for leak in [EMAIL, "argon2", state["user_id"]]:
                assert leak not in text, (leak, text)

        def disable_reports_account_disabled():
            rekeyctl(binary, data_dir, ["user", "disable", EMAIL])
            got = wait_for("account.disabled at /ok", lambda: receiver.at("/ok", "account.disabled"))
            assert len(got) == 1 and got[0]["verified"], got
            assert got[0]["payload"]["data"]["user_id"] == state["user_id"], got
            assert got[0]["payload"]["data"]["email"] == EMAIL, got
            # Filters: the endpoints that take only password.changed get none.
            for path in ["/flaky", "/hashes"]:
                assert not receiver.at(path, "account.disabled"), receiver.at(path)

        def webhook_test_command():
            out = rekeyctl(binary, data_dir, ["webhook", "test", "--endpoint", "app"])
            assert "delivered (200)" in out, out
            got = receiver.at("/ok", "webhook.test")
            assert len(got) == 1 and got[0]["verified"], got
            out = rekeyctl(binary, data_dir, ["webhook", "test", "--endpoint", receiver.base + "/adhoc",
                                              "--secret", OTHER_SECRET])
            assert "delivered (200)" in out, out
            assert receiver.at("/adhoc", "webhook.test")[0]["verified"], receiver.at("/adhoc")
            try:
                rekeyctl(binary, data_dir, ["webhook", "test", "--endpoint", "down"])
            except RuntimeError as e:
                assert "did not accept" in str(e), e
            else:
                raise AssertionError("a test event to an endpoint that is down reported success")

        def every_delivery_verified():
            bad = [d for d in receiver.deliveries if not d["verified"]]
            assert receiver.deliveries and not bad, bad

        check("a reset through a contract: a verified password.changed with the right data",
              reset_reports_password_changed)
        check("include_password_hash adds the PHC string", opted_in_endpoint_gets_the_hash)
        check("fails twice then succeeds: one webhook-id three times, delivered",
              flaky_endpoint_gets_one_id_three_times)
        check("an endpoint that is down: dead-lettered after the last retry, nothing in clear",
              dead_letter_after_the_last_retry)
        check("rekeyctl user disable: a verified account.disabled, filters kept",
              disable_reports_account_disabled)
        check("rekeyctl webhook test: by name, by URL with --secret, failure reported",
              webhook_test_command)
        check("every delivery passed Webhook.verify", every_delivery_verified)
    except Exception:  # noqa: BLE001
        results.append(False)
        print("not ok - setup")
        traceback.print_exc(file=sys.stdout)
        if server is not None:
            print("\n".join(server.stderr_tail()))
    finally:
        if server is not None:
            server.stop()
        receiver.stop()
        sdk_check.child_env = plain_env
        shutil.rmtree(data_dir, ignore_errors=True)
    passed = sum(results)
    print("webhooks: %d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
