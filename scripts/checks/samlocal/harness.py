#!/usr/bin/env python3
"""The sam-local check's runs, after `sam build` (scripts/checks/sam-local):

1. moto on 127.0.0.1 for the host side and on the gateway of a docker
   network of this check's own for the containers (scripts/moto_serial.py
   with two --listen addresses); the template's table (with its stream),
   queues and KMS key created on it from their definitions (template.py),
   its SES identity, its service secret in Secrets Manager (the functions
   get its ARN and read it from moto at init).
2. Run "own accounts": `sam local start-api` with the template's parameters
   (ResetUrl and TokenIssuer on its base URL), the stream pump feeding
   send-email through `sam local invoke` (stream.py); the peer checks
   (scripts/sdk_check.py, checks/jwks.py, checks/oauth.py) against its base
   URL, unchanged; then a reset by link end to end (flows.py): request,
   mail read back from moto's SES, the link's page, the reset, a sign-in
   with the new password at /oauth/token.
3. Run "Cognito pool": a pool and app client on moto, the template's
   CognitoUserPoolId and CognitoClientId set; a pool user's request
   through each address contract (Payabli, django-rest-registration,
   account recovery) mails them, the mailed link resets the password, and
   boto3 signs in to the pool with it.

Every wait is bounded; every process, container and the network this
started are stopped and removed on the way out. Prints `ok - ...` /
`not ok - ...` per step and `sam-local: N passed, M failed`.
"""

import argparse
import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

import boto3  # noqa: E402

import flows  # noqa: E402
from sam import Sam, StartApi  # noqa: E402
from stream import StreamPump  # noqa: E402
from template import Stack, load  # noqa: E402

REGION = "us-east-1"
STACK = "rekey"
SENDER_DOMAIN = "rekey.test"


def log(message):
    print("# " + message, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Network:
    """A docker bridge network of this check's own: its gateway is the one
    address outside loopback anything here listens on."""

    def __init__(self, docker):
        self.docker = docker
        self.name = "rekey-sam-local-%d" % os.getpid()
        subprocess.run([docker, "network", "create", "--driver", "bridge", self.name],
                       check=True, capture_output=True, timeout=60)
        self.gateway = subprocess.run(
            [docker, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", self.name],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        if not self.gateway:
            raise RuntimeError("docker network %s has no gateway address" % self.name)

    def remove(self):
        # Containers sam left on this network (it created them for us).
        left = subprocess.run([self.docker, "ps", "-aq", "--filter", "network=" + self.name],
                              capture_output=True, text=True, timeout=60).stdout.split()
        if left:
            log("removing %d container(s) left on %s" % (len(left), self.name))
            subprocess.run([self.docker, "rm", "-f", *left], capture_output=True, timeout=120)
        subprocess.run([self.docker, "network", "rm", self.name], capture_output=True, timeout=60)


class Moto:
    def __init__(self, python, gateway, work):
        self.log_path = os.path.join(work, "moto.log")
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                [python, os.path.join(ROOT, "scripts", "moto_serial.py"),
                 "--listen", "127.0.0.1:0", "--listen", "%s:0" % gateway],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log_file,
            )
        line = _readline(self.proc, 60)
        loopback, bridge = json.loads(line)["listening"]
        self.host = "http://" + loopback
        self.bridge_port = int(bridge.rsplit(":", 1)[1])

    def client(self, service):
        return boto3.client(service, endpoint_url=self.host, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _readline(proc, deadline):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=deadline):
        raise RuntimeError("no answer from the process within %d s" % deadline)
    line = proc.stdout.readline().decode()
    if not line:
        raise RuntimeError("the process exited (status %s)" % proc.wait())
    return line


class Results:
    def __init__(self, only=()):
        self.passed = self.failed = self.skipped = 0
        self.only = only

    def check(self, name, fn, *args):
        if self.only and not any(o in name for o in self.only) and "start-api answers" not in name:
            self.skipped += 1
            print("skip - %s (not selected by --only)" % name, flush=True)
            return None
        started = time.monotonic()
        try:
            value = fn(*args)
        except Exception as e:  # noqa: BLE001  (reported, then counted)
            self.failed += 1
            print("not ok - %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            for line in traceback.format_exc().rstrip().splitlines()[-8:]:
                print("#   " + line)
            return None
        self.passed += 1
        print("ok - %s (%.1f s)" % (name, time.monotonic() - started), flush=True)
        return value if value is not None else True


def run_stack(ctx, results, label, parameters, body):
    """Starts start-api and the stream pump with `parameters`, runs
    `body(api, target_path)`, stops both; a failure of the pump fails it."""
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    parameters = dict(ctx["parameters"], ResetUrl=base + "/reset?token={token}", **parameters)
    stack = Stack(ctx["template"], STACK, REGION, parameters)
    stack.physical = ctx["physical"]
    stack.clients = ctx["clients"]
    overrides = stack.overrides()
    # sam local's request context names the domain "localhost": the issuer
    # API Gateway would give (its own URL) is this base URL here.
    env_vars = {"Parameters": {"REKEY_TOKEN_ISSUER": base}}
    env_vars.update(overrides)
    env_path = os.path.join(ctx["work"], "env-%s.json" % label)
    with open(env_path, "w") as f:
        json.dump(env_vars, f, indent=1)
    log("%s: parameters %s" % (label, " ".join("%s=%s" % kv for kv in sorted(parameters.items()))))
    log("%s: --env-vars for what sam local cannot resolve: %s" % (
        label, sorted({k for v in overrides.values() for k in v})))
    sam = Sam(ctx["sam"], ctx["built"], ctx["network"].name, ctx["network"].gateway,
              parameters, env_path, ctx["work"])
    api = StartApi(sam, port, label)
    pump = None
    try:
        results.check("%s: sam local start-api answers at %s" % (label, base), api.wait_ready, "/reset")
        pump = StreamPump(ctx["moto"].client("dynamodbstreams"), sam, ctx["mapping"], REGION, log)
        pump.start()
        target = os.path.join(ctx["work"], "target-%s.json" % label)
        with open(target, "w") as f:
            json.dump({"base": base, "rekeyctl": ctx["rekeyctl"], "moto": ctx["moto"].host,
                       "env": ctx["admin_env"], "mail_deadline": flows.MAIL_DEADLINE}, f)
        body(api, target, pump)
        pump.wait_idle()
        # An invocation that timed out or crashed fails the run even when
        # the check that made it could not tell (see sam.FUNCTION_FAILURES).
        for line in api.failures():
            results.failed += 1
            print("not ok - %s: a function under sam local start-api failed: %s" % (label, line[:500]))
    finally:
        if pump is not None:
            pump.stop()
            for e in pump.errors:
                results.failed += 1
                print("not ok - %s: the stream step: %s" % (label, e))
            log("%s: the stream pump made %d invocation(s), %d record(s) delivered"
                % (label, pump.batches, pump.delivered))
        api.stop()
        if results.failed:
            log("last lines of %s:\n%s" % (api.log_path, api.tail(40)))


def peer_check(ctx, script, target):
    out = subprocess.run([ctx["python"], script, "--target", target], capture_output=True,
                         text=True, timeout=600)
    for line in out.stdout.splitlines():
        print("#   " + line)
    if out.returncode != 0:
        raise AssertionError("%s failed (status %d)%s" % (
            os.path.relpath(script, ROOT), out.returncode,
            ("\n" + out.stderr[-2000:]) if out.stderr.strip() else ""))


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--docker", "--sam", "--arch", "--built", "--rekeyctl", "--work"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--only", action="append", default=[],
                    help="run only the steps whose name contains this (repeatable; while debugging: "
                         "the check then fails, a partial run is not a pass)")
    args = ap.parse_args()
    results = Results(args.only)
    network = moto = None
    try:
        network = Network(args.docker)
        log("docker network %s, gateway %s" % (network.name, network.gateway))
        moto = Moto(sys.executable, network.gateway, args.work)
        log("moto at %s (host side) and %s:%d (containers)" % (moto.host, network.gateway, moto.bridge_port))
        template = load(os.path.join(ROOT, "template.yaml"))
        clients = {s: moto.client(s) for s in ("dynamodb", "sqs", "kms", "secretsmanager", "sesv2")}
        # The functions get its ARN and read the value from moto at init,
        # through host.docker.internal, as they read it from Secrets Manager
        # in AWS.
        service_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        secret_arn = clients["secretsmanager"].create_secret(
            Name="rekey/service-secret", SecretString=service_secret)["ARN"]
        clients["sesv2"].create_email_identity(EmailIdentity=SENDER_DOMAIN)
        parameters = {
            "Architecture": args.arch,
            "MailFrom": "rekey <no-reply@%s>" % SENDER_DOMAIN,
            "SenderIdentity": SENDER_DOMAIN,
            "ServiceSecretId": secret_arn,
            "KeyAdministratorArn": "arn:aws:iam::123456789012:role/rekey-deployer",
            "LocalEndpointUrl": "http://host.docker.internal:%d" % moto.bridge_port,
            # sdk_check texts a +1 number (moto's SNS records it).
            "SmsCountryCallingCodes": "+1",
            # flows.py signs in through the recovery client, which a default
            # deployment keeps off the password grant.
            "Settings": json.dumps({"REKEY_OAUTH_CLIENT_FIRST_PARTY": True}),
        }
        stack = Stack(template, STACK, REGION, parameters)
        stack.create(clients, log)
        ctx = {
            "template": template, "physical": stack.physical, "clients": clients, "moto": moto,
            "network": network, "sam": args.sam, "built": args.built, "work": args.work,
            "rekeyctl": args.rekeyctl, "python": sys.executable, "parameters": parameters,
            "mapping": stack.stream_mapping(),
            # rekeyctl --dynamodb on the host side: the same table and secret.
            "admin_env": {
                "AWS_ENDPOINT_URL": moto.host, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "REKEY_TABLE": stack.physical["Table"]["Ref"],
                "REKEY_SECRET": service_secret,
            },
        }
        log("stream mapping: %s, batch %d, from %s, filter %s" % (
            ctx["mapping"]["function"], ctx["mapping"]["batch_size"],
            ctx["mapping"]["starting_position"], json.dumps(ctx["mapping"]["patterns"])))

        def own_accounts(api, target, pump):
            for script in ("scripts/sdk_check.py", "scripts/checks/jwks.py", "scripts/checks/oauth.py"):
                results.check("own accounts: %s against sam local start-api" % script,
                              peer_check, ctx, os.path.join(ROOT, script), target)
            results.check("own accounts: a reset by link, mailed through the stream and SES; "
                          "sign-in with the new password", flows.link_reset, ctx, api.base, target)

        run_stack(ctx, results, "own-accounts", {}, own_accounts)

        pool = results.check("cognito: a user pool and app client on moto", flows.Pool, moto.client("cognito-idp"))
        if pool:
            def cognito(api, target, pump):
                for contract in flows.ADDRESS_CONTRACTS:
                    results.check("cognito: a pool user's request through %s mails them; the link "
                                  "resets; boto3 signs in to the pool with the new password" % contract,
                                  flows.pool_reset, ctx, api.base, target, pool, contract)

            run_stack(ctx, results, "cognito", {"CognitoUserPoolId": pool.pool_id,
                                                "CognitoClientId": pool.client_id}, cognito)
    except Exception as e:  # noqa: BLE001
        results.failed += 1
        print("not ok - setup: %s: %s" % (type(e).__name__, e))
        traceback.print_exc(file=sys.stdout)
    finally:
        if moto is not None:
            moto.stop()
        if network is not None:
            network.remove()
    print("sam-local: %d passed, %d failed%s" % (
        results.passed, results.failed, ", %d skipped (--only)" % results.skipped if results.skipped else ""))
    return 0 if results.failed == 0 and results.passed > 0 and not results.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
