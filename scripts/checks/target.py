"""Where a peer check (scripts/sdk_check.py, checks/jwks.py, checks/oauth.py)
runs its requests, unchanged either way:

- `rekeyctl serve` on a fresh data dir: the argument is a rekeyctl path;
  accounts and keys are made with rekeyctl, mail is read from the outbox's
  .eml files and texts from its .sms.txt files;
- a stack under `sam local start-api`: the argument is `--target FILE`, a
  JSON file the sam-local check writes ({"base", "rekeyctl", "env",
  "moto", "mail_deadline"}); accounts and keys are made with `rekeyctl
  --dynamodb` in the stack's table on moto, mail is read back from moto's
  SES and texts from moto's SNS.

How long a check waits for a mail (or a text) is the target's: `rekeyctl
serve` writes it to the outbox at once (sdk_check's DEADLINE bounds it),
while a stack sends it through the table's stream, two `sam local invoke`s
of send-email (the request, then its outbox item) behind whatever records
came before, each a container started and stopped: the sam-local check
gives the bound it sizes for that (harness.MAIL_DEADLINE), and moto's state
is read at most once a second (each read serialises every service's state
while moto, one request at a time, makes the functions wait).
"""

import email
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sdk_check import DEADLINE, Server, child_env, eml_files_to, rekeyctl  # noqa: E402

# Loopback only: no proxy may see a request.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def open_target(argv, prefix):
    """The target named by a check's arguments: [rekeyctl] or
    ["--target", FILE]."""
    if len(argv) == 2 and argv[0] == "--target":
        return StackTarget(argv[1])
    if len(argv) == 1:
        return LocalTarget(os.path.abspath(argv[0]), prefix)
    raise SystemExit("usage: CHECK path/to/rekeyctl | CHECK --target FILE")


def link_in(message, pattern):
    """The first match of `pattern` (a regex with one group) in any text
    part of the raw message `message`."""
    parsed = email.message_from_string(message)
    for part in parsed.walk():
        payload = part.get_payload(decode=True)
        if payload:
            found = re.search(pattern, payload.decode("utf-8", "replace"))
            if found:
                return found.group(1)
    raise AssertionError("no match for %s in the mail" % pattern)


class LocalTarget:
    mail_deadline = DEADLINE
    mail_poll_interval = 0.1

    def __init__(self, binary, prefix):
        self.binary = binary
        self.data_dir = tempfile.mkdtemp(prefix=prefix)
        self.server = None
        self.base = None

    def admin(self, args, stdin=None):
        return rekeyctl(self.binary, self.data_dir, args, stdin=stdin)

    def start(self):
        self.server = Server(self.binary, self.data_dir)
        self.server.wait_listening()
        self.base = self.server.base
        return self.base

    def mails_to(self, address):
        outbox = os.path.join(self.data_dir, "outbox")
        found = []
        for name in eml_files_to(outbox, address):
            with open(os.path.join(outbox, name), encoding="utf-8", errors="replace") as f:
                found.append(f.read())
        return found

    def texts_to(self, number):
        """The bodies of the texts to `number` in the outbox, oldest first."""
        outbox = os.path.join(self.data_dir, "outbox")
        try:
            names = sorted(n for n in os.listdir(outbox) if n.endswith(".sms.txt"))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            with open(os.path.join(outbox, name), encoding="utf-8") as f:
                head, _, body = f.read().partition("\n\n")
            if head == "To: " + number:
                found.append(body.rstrip("\n"))
        return found

    def log_tail(self):
        return self.server.stderr_tail() if self.server else []

    def stop(self):
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class StackTarget:
    def __init__(self, path):
        with open(path) as f:
            spec = json.load(f)
        self.base = spec["base"]
        self.binary = spec["rekeyctl"]
        self.env = spec["env"]
        self.moto = spec["moto"]
        self.mail_deadline = float(spec["mail_deadline"])
        self.mail_poll_interval = 1.0
        self.data_dir = tempfile.mkdtemp(prefix="rekey-stack-target-")

    def admin(self, args, stdin=None):
        env = child_env()
        env.update(self.env)
        out = subprocess.run(
            [self.binary, "--data-dir", self.data_dir, "--dynamodb", *args],
            input=stdin, capture_output=True, text=True, env=env, timeout=DEADLINE,
        )
        if out.returncode != 0:
            raise RuntimeError("rekeyctl --dynamodb %s failed (status %d):\n%s"
                               % (" ".join(args), out.returncode, out.stderr.strip()))
        return out.stdout.strip()

    def start(self):
        return self.base

    def mails_to(self, address):
        return [m for m in sent_mail(self.moto) if _addressed_to(m, address)]

    def texts_to(self, number):
        return [m["message"] for m in sent_texts(self.moto) if m.get("phone_number") == number]

    def log_tail(self):
        return ["(the functions' logs are in target/sam-local/)"]

    def stop(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)


def sent_mail(moto):
    """Every raw message moto's SES accepted, oldest first."""
    with _OPENER.open(moto + "/moto-api/data.json", timeout=DEADLINE) as resp:
        data = json.loads(resp.read())
    return [m["raw_data"] for m in data.get("ses", {}).get("RawMessage", []) if "raw_data" in m]


def sent_texts(moto):
    """Every text moto's SNS accepted for a phone number, oldest first."""
    with _OPENER.open(moto + "/moto-api/data.json", timeout=DEADLINE) as resp:
        data = json.loads(resp.read())
    return data.get("sns", {}).get("SMS", [])


def _addressed_to(message, address):
    return re.search(r"^To:.*%s" % re.escape(address), message, re.M | re.I) is not None
