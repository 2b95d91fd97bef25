#!/usr/bin/env python3
"""Official SDKs against rekey, unchanged.

    python scripts/sdk_check.py path/to/rekeyctl
    python scripts/sdk_check.py --target FILE

Starts `rekeyctl serve --addr 127.0.0.1:0` on a fresh temporary data dir,
or uses the stack under `sam local start-api` that FILE describes
(scripts/checks/target.py), with an API key with scopes reset:request and
users:write, an admin key that also has users:admin for `returnCode`, one
account, then drives it with two SDKs from PyPI (pinned in
scripts/requirements-test.txt):

- payabli (Payabli's Python SDK): `client.user.auth_reset_user(email=...)`,
  i.e. POST /api/User/authreset with the `requestToken` header;
- zitadel-client (Zitadel's Python SDK): `zitadel.users.password_reset(...)`
  and `zitadel.users.set_password(...)`, i.e. the Connect paths
  POST /zitadel.user.v2.UserService/{PasswordReset,SetPassword} with
  `Authorization: Bearer <key>`; with `NOTIFICATION_TYPE_SMS` the code is
  read from the text (the outbox folder locally, moto's SNS for a stack).

The SDKs are only configured through their public options (base URL, API
key or token, retries, HTTP client); their request paths and bodies are
their own. Prints one `ok - ...` / `not ok - ...` line per check, then
`sdk_check: N passed, M failed`; exits 0 iff every check passed. The server
is always stopped and the data dir removed.
"""

import datetime
import email
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import traceback

# How long any awaited condition may take (server start, one-shot commands,
# one HTTP request, mail delivery).
DEADLINE = 30.0

USER_EMAIL = "ada@example.com"
USER_NAME = "Ada"
USER_ORG = "acme"
# A second account with a verified phone number, for reset by text; 555
# numbers are fictional. Not ending in 99: moto's SNS calls those opted out.
SMS_USER_EMAIL = "hedy@example.com"  # not another check's: against a stack they share one table
SMS_USER_PHONE = "+15555550142"
SMS_CODE_RE = re.compile(r"code is ([A-Z0-9]{6})\b")
OLD_PASSWORD = "Old-Passw0rd-kept-long"
NEW_PASSWORD = "New-Passw0rd-from-sdk-7q!"
CODE_RE = re.compile(r"^[A-Z0-9]{6}$")


class Skip(Exception):
    """A check that cannot run because an earlier one failed."""


def child_env():
    """The caller's environment without REKEY_* and AWS_* (nothing leaks in)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("REKEY_") or k.startswith("AWS_"))
    }
    env.setdefault("RUST_LOG", "warn")
    return env


def rekeyctl(binary, data_dir, args, stdin=None):
    """Runs a one-shot rekeyctl command; returns its stdout, stripped."""
    out = subprocess.run(
        [binary, "--data-dir", data_dir, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=DEADLINE,
    )
    if out.returncode != 0:
        raise RuntimeError(
            "rekeyctl %s failed (status %d):\n%s"
            % (" ".join(args), out.returncode, out.stderr.strip())
        )
    return out.stdout.strip()


class Server:
    """`rekeyctl serve --addr 127.0.0.1:0` on data_dir; stderr to a log file."""

    def __init__(self, binary, data_dir):
        self.log_path = os.path.join(data_dir, "serve.stderr.log")
        self.stdout_lines = []
        self._lines = queue.Queue()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "--data-dir", data_dir, "serve", "--addr", "127.0.0.1:0"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=child_env(),
            )
        # Drains stdout for the server's whole life, so it can never block
        # on a full pipe; lines reach the main thread through the queue.
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.base = None

    def wait_listening(self):
        self.base = self._wait_listening()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)  # EOF: the server exited or closed stdout

    def _wait_listening(self):
        deadline = time.monotonic() + DEADLINE
        prefix = "rekey listening on "
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    "no `%s` line on stdout within %.0f s" % (prefix.strip(), DEADLINE)
                )
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                status = self.proc.wait(timeout=DEADLINE)
                raise RuntimeError(
                    "rekeyctl serve exited (status %s) before listening" % status
                )
            if line.startswith(prefix):
                base = line[len(prefix):].strip()
                if not base.startswith("http://127.0.0.1:"):
                    raise RuntimeError("unexpected listening address %r" % base)
                return base

    def stop(self):
        if self.proc.poll() is None:
            # `serve` stops cleanly on SIGINT (ctrl-c); kill if it lingers.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stderr_tail(self, lines=30):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()[-lines:]
        except OSError:
            return []


def wait_for(what, condition, deadline=DEADLINE, interval=0.1):
    """Polls condition() until it returns a truthy value, within `deadline`
    seconds (a mail's comes from the target: see scripts/checks/target.py)."""
    started = time.monotonic()
    while True:
        value = condition()
        if value:
            if time.monotonic() - started > 1:
                print("# waited %.1f s for %s" % (time.monotonic() - started, what))
            return value
        if time.monotonic() - started >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (deadline, what))
        time.sleep(interval)


def eml_files_to(outbox, address):
    try:
        names = sorted(os.listdir(outbox))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(outbox, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        if re.search(r"^To:.*%s" % re.escape(address), text, re.M | re.I):
            found.append(name)
    return found


def validation_code(path):
    """The recovery link's validation_code in the mail at `path`."""
    with open(path, encoding="utf-8", errors="replace") as f:
        message = email.message_from_file(f)
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload:
            found = re.search(r"validation_code=(rkt_[A-Za-z0-9_-]+)", payload.decode("utf-8", "replace"))
            if found:
                return found.group(1)
    raise AssertionError("no validation_code link in %s" % path)


def tampered(token):
    """`token` with one signature character changed, whatever it was
    (replacing the last two with "AA" left one token in 256 unchanged)."""
    i = len(token) - 20
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


# --- Payabli -----------------------------------------------------------------

def payabli_checks(ctx):
    import httpx
    from payabli import payabli as Payabli
    from payabli.core.api_error import ApiError as PayabliApiError
    from payabli.errors.unauthorized_error import UnauthorizedError

    def client(api_key):
        # The SDK's public options: base_url (its environments end in /api),
        # api_key (sent as `requestToken`). client_id/client_secret default
        # to $OAUTH_CLIENT_ID/$OAUTH_CLIENT_SECRET: pass None so an OAuth
        # token flow can never start. No retries: one request per call. A
        # plain httpx client that ignores proxy settings (loopback traffic).
        return Payabli(
            base_url=ctx["base"] + "/api",
            api_key=api_key,
            client_id=None,
            client_secret=None,
            max_retries=0,
            timeout=DEADLINE,
            httpx_client=httpx.Client(timeout=DEADLINE, trust_env=False),
        )

    def request_reset():
        target = ctx["target"]
        before = len(target.mails_to(USER_EMAIL))
        resp = client(ctx["key"]).user.auth_reset_user(email=USER_EMAIL)
        assert resp.is_success is True, "is_success = %r" % (resp.is_success,)
        assert resp.response_text == "Success", "response_text = %r" % (resp.response_text,)
        # The reset really happened: a mail reaches the account.
        wait_for(
            "a reset mail to %s" % USER_EMAIL,
            lambda: len(target.mails_to(USER_EMAIL)) > before,
            target.mail_deadline,
            target.mail_poll_interval,
        )

    def unknown_email():
        resp = client(ctx["key"]).user.auth_reset_user(email="nobody.here@example.com")
        assert resp.is_success is True, "is_success = %r" % (resp.is_success,)
        assert resp.response_text == "Success", "response_text = %r" % (resp.response_text,)

    def unknown_key():
        bogus = "rkk_" + "Q" * 43  # well-formed, never issued
        try:
            resp = client(bogus).user.auth_reset_user(email=USER_EMAIL)
        except UnauthorizedError as e:
            assert e.status_code == 401, "status %r" % (e.status_code,)
            # Typed by the SDK as PayabliErrorBody.
            assert e.body.is_success is False, "body %r" % (e.body,)
            assert e.body.response_text, "body %r" % (e.body,)
            return
        except PayabliApiError as e:
            raise AssertionError(
                "expected UnauthorizedError (401), got %s %s: %r"
                % (type(e).__name__, e.status_code, e.body)
            )
        raise AssertionError("an unknown key was accepted: %r" % (resp,))

    return [
        ("payabli: request-reset", request_reset),
        ("payabli: request-reset for an unknown email answers Success", unknown_email),
        ("payabli: unknown requestToken raises UnauthorizedError", unknown_key),
    ]


# --- Zitadel -----------------------------------------------------------------

def zitadel_checks(ctx):
    import warnings

    # zitadel-client 4.1.9 imports authlib.jose (for its private-key JWT
    # authenticator), which Authlib (1.9.9 here) reports as deprecated on stderr,
    # past any filter (it installs an "always" filter): record, not print.
    with warnings.catch_warnings(record=True):
        from zitadel_client import Zitadel
        from zitadel_client.exceptions import ApiError as ZitadelApiError
        from zitadel_client.models.user_service_password import UserServicePassword
        from zitadel_client.models.user_service_password_reset_request import (
            UserServicePasswordResetRequest,
        )
        from zitadel_client.models.user_service_set_password_request import (
            UserServiceSetPasswordRequest,
        )
        from zitadel_client.models.user_service_send_password_reset_link import (
            UserServiceSendPasswordResetLink,
        )
        from zitadel_client.models.user_service_notification_type import (
            UserServiceNotificationType,
        )

    # PAT authentication; an http:// host is kept as given (the SDK only
    # prefixes https:// when no scheme is present). Its HTTP layer is a plain
    # urllib3 PoolManager: no proxy unless TransportOptions.proxy_url is set.
    def client(token):
        return Zitadel.with_access_token(ctx["base"], token)

    state = {}

    def details_ok(details, what):
        assert details is not None, "%s: no details" % what
        seq = details.sequence
        assert isinstance(seq, str) and seq.isdigit(), "%s: sequence %r" % (what, seq)
        assert details.resource_owner == USER_ORG, "%s: resourceOwner %r" % (
            what,
            details.resource_owner,
        )
        changed = details.change_date
        assert isinstance(changed, datetime.datetime) and changed.tzinfo is not None, (
            "%s: changeDate %r" % (what, changed)
        )
        skew = abs((datetime.datetime.now(datetime.timezone.utc) - changed).total_seconds())
        assert skew < 600, "%s: changeDate %s is %.0f s off" % (what, changed, skew)
        return int(seq)

    def expect_api_error(call, status, connect_code):
        try:
            resp = call()
        except ZitadelApiError as e:
            body = e.response_body
            assert e.code == status, "HTTP %r (want %d), body %r" % (e.code, status, body)
            assert isinstance(body, dict), "error body is not JSON: %r" % (body,)
            assert body.get("code") == connect_code, "code %r (want %r), body %r" % (
                body.get("code"),
                connect_code,
                body,
            )
            assert isinstance(body.get("message"), str), "body %r" % (body,)
            return
        raise AssertionError("expected ApiError %d %s, got %r" % (status, connect_code, resp))

    def return_code_needs_admin():
        expect_api_error(
            lambda: client(ctx["key"]).users.password_reset(
                UserServicePasswordResetRequest(user_id=ctx["user_id"], return_code={})
            ),
            403,
            "permission_denied",
        )

    def password_reset():
        resp = client(ctx["admin_key"]).users.password_reset(
            UserServicePasswordResetRequest(user_id=ctx["user_id"], return_code={})
        )
        code = resp.verification_code
        assert isinstance(code, str) and CODE_RE.match(code), "verificationCode %r" % (code,)
        state["reset_seq"] = details_ok(resp.details, "PasswordReset")
        state["code"] = code

    def set_password():
        if "code" not in state:
            raise Skip("needs the PasswordReset check")
        resp = client(ctx["key"]).users.set_password(
            UserServiceSetPasswordRequest(
                user_id=ctx["user_id"],
                new_password=UserServicePassword(password=NEW_PASSWORD),
                verification_code=state["code"],
            )
        )
        seq = details_ok(resp.details, "SetPassword")
        assert seq > state["reset_seq"], "SetPassword sequence %d <= PasswordReset's %d" % (
            seq,
            state["reset_seq"],
        )
        state["set_seq"] = seq

    def reused_code():
        if "set_seq" not in state:
            raise Skip("needs the SetPassword check")
        expect_api_error(
            lambda: client(ctx["key"]).users.set_password(
                UserServiceSetPasswordRequest(
                    user_id=ctx["user_id"],
                    new_password=UserServicePassword(password=NEW_PASSWORD + "x"),
                    verification_code=state["code"],
                )
            ),
            400,
            "failed_precondition",
        )

    def sequence_increases():
        if "set_seq" not in state:
            raise Skip("needs the SetPassword check")
        resp = client(ctx["admin_key"]).users.password_reset(
            UserServicePasswordResetRequest(user_id=ctx["user_id"], return_code={})
        )
        assert CODE_RE.match(resp.verification_code or ""), "verificationCode %r" % (
            resp.verification_code,
        )
        seq = details_ok(resp.details, "PasswordReset")
        assert seq > state["set_seq"], "PasswordReset sequence %d <= SetPassword's %d" % (
            seq,
            state["set_seq"],
        )

    def sms_request():
        target = ctx["target"]
        before = len(target.texts_to(SMS_USER_PHONE))
        resp = client(ctx["key"]).users.password_reset(
            UserServicePasswordResetRequest(
                user_id=ctx["sms_user_id"],
                send_link=UserServiceSendPasswordResetLink(
                    notification_type=UserServiceNotificationType.NOTIFICATION_TYPE_SMS
                ),
            )
        )
        assert resp.verification_code is None, "a texted code was returned too"
        state["sms_seq"] = details_ok(resp.details, "PasswordReset by SMS")
        texts = wait_for(
            "a text to the account's number",
            lambda: target.texts_to(SMS_USER_PHONE)[before:] or None,
            target.mail_deadline,
            target.mail_poll_interval,
        )
        found = SMS_CODE_RE.search(texts[-1])
        assert found, "no code in the text %r" % (texts[-1],)
        state["sms_code"] = found.group(1)

    def sms_set_password():
        if "sms_code" not in state:
            raise Skip("needs the PasswordReset by SMS check")
        resp = client(ctx["key"]).users.set_password(
            UserServiceSetPasswordRequest(
                user_id=ctx["sms_user_id"],
                new_password=UserServicePassword(password=NEW_PASSWORD),
                verification_code=state["sms_code"],
            )
        )
        seq = details_ok(resp.details, "SetPassword with the texted code")
        assert seq > state["sms_seq"], "SetPassword sequence %d <= PasswordReset's %d" % (
            seq,
            state["sms_seq"],
        )

    def sms_without_a_number():
        expect_api_error(
            lambda: client(ctx["key"]).users.password_reset(
                UserServicePasswordResetRequest(
                    user_id=ctx["user_id"],
                    send_link=UserServiceSendPasswordResetLink(
                        notification_type=UserServiceNotificationType.NOTIFICATION_TYPE_SMS
                    ),
                )
            ),
            400,
            "failed_precondition",
        )

    def unknown_user():
        expect_api_error(
            lambda: client(ctx["admin_key"]).users.password_reset(
                UserServicePasswordResetRequest(user_id="no-such-user-42", return_code={})
            ),
            404,
            "not_found",
        )

    def unknown_token():
        expect_api_error(
            lambda: client("rkk_" + "Q" * 43).users.password_reset(
                UserServicePasswordResetRequest(user_id=ctx["user_id"], return_code={})
            ),
            401,
            "unauthenticated",
        )

    return [
        ("zitadel: PasswordReset returnCode with a users:write key raises ApiError permission_denied",
         return_code_needs_admin),
        ("zitadel: PasswordReset returns a verification code to a users:admin key", password_reset),
        ("zitadel: SetPassword with the code", set_password),
        ("zitadel: SetPassword with the used code raises ApiError failed_precondition", reused_code),
        ("zitadel: PasswordReset again has a higher sequence", sequence_increases),
        ("zitadel: PasswordReset with NOTIFICATION_TYPE_SMS texts the code", sms_request),
        ("zitadel: SetPassword with the texted code", sms_set_password),
        ("zitadel: NOTIFICATION_TYPE_SMS for a user without a phone raises ApiError failed_precondition",
         sms_without_a_number),
        ("zitadel: unknown user raises ApiError not_found", unknown_user),
        ("zitadel: unknown token raises ApiError unauthenticated", unknown_token),
    ]


# --- main ----------------------------------------------------------------------

def describe(e):
    """An exception, with the HTTP body the SDKs attach to their API errors."""
    text = "%s: %s" % (type(e).__name__, e)
    if hasattr(e, "response_body"):  # zitadel_client.exceptions.ApiError
        text += " (body %r)" % (e.response_body,)
    return text  # payabli's ApiError already prints status and body


def run_checks(groups, ctx):
    passed = failed = 0
    for group_name, make in groups:
        try:
            checks = make(ctx)
        except Exception as e:  # e.g. the SDK is not installed
            print("not ok - %s: cannot set up the checks: %s: %s" % (group_name, type(e).__name__, e))
            failed += 1
            continue
        for name, check in checks:
            try:
                check()
            except Skip as e:
                print("not ok - %s (skipped: %s)" % (name, e))
                failed += 1
            except AssertionError as e:
                print("not ok - %s: %s" % (name, e))
                failed += 1
            except Exception as e:
                print("not ok - %s: %s" % (name, describe(e)))
                for line in traceback.format_exc().rstrip().splitlines()[-6:]:
                    print("#   " + line)
                failed += 1
            else:
                print("ok - %s" % name)
                passed += 1
            sys.stdout.flush()
    return passed, failed


def main(argv):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks"))
    from target import open_target

    # A SIGTERM (e.g. scripts/test being stopped) still runs the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    target = open_target(argv[1:], "rekey-sdk-check-")
    passed = failed = 0
    try:
        try:
            key = target.admin(
                ["key", "create", "--scope", "reset:request", "--scope", "users:write",
                 "--org", USER_ORG, "--name", "sdk-check"],
            )
            assert key.startswith("rkk_"), "key create printed %r" % key
            # returnCode hands back what sets the password: users:admin only.
            admin_key = target.admin(
                ["key", "create", "--scope", "users:write", "--scope", "users:admin",
                 "--org", USER_ORG, "--name", "sdk-check-admin"],
            )
            assert admin_key.startswith("rkk_"), "key create printed %r" % admin_key
            user_id = target.admin(
                ["user", "add", "--email", USER_EMAIL, "--name", USER_NAME,
                 "--org", USER_ORG, "--password-stdin"],
                stdin=OLD_PASSWORD + "\n",
            )
            assert user_id and not re.search(r"\s", user_id), "user add printed %r" % user_id
            sms_user_id = target.admin(
                ["user", "add", "--email", SMS_USER_EMAIL, "--name", "Grace",
                 "--org", USER_ORG, "--phone", SMS_USER_PHONE, "--password-stdin"],
                stdin=OLD_PASSWORD + "\n",
            )
            target.start()
        except Exception as e:
            print("not ok - setup: %s" % e)
            failed += 1
        else:
            print("# rekey at %s" % target.base)
            ctx = {"base": target.base, "key": key, "admin_key": admin_key,
                   "user_id": user_id, "sms_user_id": sms_user_id, "target": target}
            passed, failed = run_checks(
                [("payabli", payabli_checks), ("zitadel", zitadel_checks)], ctx
            )
        if failed:
            tail = target.log_tail()
            if tail:
                print("# last lines of the server's log:")
                for line in tail:
                    print("#   " + line)
    finally:
        target.stop()
    print("sdk_check: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
