"""Running SAM's emulators for the sam-local check: `sam local start-api`
(warm containers) and `sam local invoke`, on the check's own docker
network, with the template's parameters and the `--env-vars` that stand in
for what sam local cannot resolve (template.Stack.overrides)."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

# Loopback only: no proxy may see a request.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# What SAM's runtime emulator and a function's runtime print when an
# invocation did not end in the function's own answer. Such an invocation
# can still reach the client as "200": for an HTTP API (payload 2.0) sam
# turns any JSON without a statusCode into a 200 with that JSON as the
# body, so a peer check would see only a body without its fields. The
# last pattern is a bootstrap whose main returned an error: its runtime
# API connection broke (as it does for every warm container when sam
# stops them, which is why the log is only read up to the stop).
FUNCTION_FAILURES = re.compile(
    r"Task timed out|timed out after|Runtime\.\w*Error|Runtime exited|Sandbox\.\w+|"
    r"panicked at|\"level\":\"ERROR\"|^Error: ")


def clean_environment():
    """The environment sam runs in: without REKEY_* and AWS_ENDPOINT_URL*
    (sam passes host variables the template declares into the containers),
    with dummy credentials and a region."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REKEY_") and not k.startswith("AWS_ENDPOINT_URL")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    })
    return env


class Sam:
    """What every sam local command of one run shares."""

    def __init__(self, sam, built_template, network, gateway, parameters, env_vars_path, work):
        self.sam = sam
        self.work = work
        self.common = [
            "--template", built_template,
            "--parameter-overrides", " ".join("%s=%s" % (k, _quote(v)) for k, v in parameters.items()),
            "--env-vars", env_vars_path,
            "--docker-network", network,
            # The containers reach moto through the network's gateway only.
            "--add-host", "host.docker.internal:%s" % gateway,
            # No registry: the base image was built here.
            "--skip-pull-image",
        ]
        self.invocations = 0

    def invoke(self, function, event, label):
        """`sam local invoke function` with `event`; the function's answer
        (JSON), or an exception naming the function and the log."""
        self.invocations += 1
        stem = os.path.join(self.work, "invoke-%03d-%s" % (self.invocations, label))
        with open(stem + ".event.json", "w") as f:
            json.dump(event, f)
        started = time.monotonic()
        with open(stem + ".log", "wb") as log:
            out = subprocess.run(
                [self.sam, "local", "invoke", function, "--event", stem + ".event.json", *self.common],
                stdout=subprocess.PIPE, stderr=log, env=clean_environment(), timeout=180,
            )
        elapsed = time.monotonic() - started
        text = out.stdout.decode("utf-8", "replace").strip()
        if out.returncode != 0:
            raise RuntimeError("sam local invoke %s exited %d (log: %s.log):\n%s"
                               % (function, out.returncode, stem, tail(stem + ".log")))
        try:
            answer = json.loads(text.splitlines()[-1]) if text else None
        except ValueError:
            raise RuntimeError("sam local invoke %s answered no JSON: %r (log: %s.log)"
                               % (function, text[-500:], stem)) from None
        if isinstance(answer, dict) and "errorMessage" in answer:
            raise RuntimeError("%s failed: %s (log: %s.log)" % (function, answer["errorMessage"], stem))
        return answer, elapsed


class StartApi:
    """`sam local start-api` on 127.0.0.1:port with LAZY warm containers."""

    def __init__(self, sam, port, label):
        self.base = "http://127.0.0.1:%d" % port
        self.log_path = os.path.join(sam.work, "start-api-%s.log" % label)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sam.sam, "local", "start-api", "--host", "127.0.0.1", "--port", str(port),
                 "--warm-containers", "LAZY", *sam.common],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=clean_environment(), start_new_session=True,
            )

    def wait_ready(self, probe_path, deadline=120):
        """Until `probe_path` answers (any HTTP status): sam has read the
        template and mounted the routes; bounded."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("sam local start-api exited (%s):\n%s"
                                   % (self.proc.returncode, tail(self.log_path)))
            try:
                with OPENER.open(self.base + probe_path, timeout=60):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("sam local start-api did not answer within %d s:\n%s"
                           % (deadline, tail(self.log_path)))

    def failures(self):
        """The lines of the log so far that say an invocation failed in
        the emulator or the runtime (FUNCTION_FAILURES); call before stop."""
        self.stopped_at = os.path.getsize(self.log_path)
        with open(self.log_path, "rb") as f:
            text = f.read(self.stopped_at).decode("utf-8", "replace")
        return [line.strip() for line in text.splitlines() if FUNCTION_FAILURES.search(line)]

    def tail(self, lines=40):
        """The log's last lines before stop, then (labelled) what the
        containers printed while sam stopped them."""
        with open(self.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        cut = getattr(self, "stopped_at", len(text))
        before, after = text[:cut].splitlines()[-lines:], text[cut:].splitlines()
        out = "\n".join("    " + line for line in before)
        if after:
            out += ("\n    --- after the steps, while sam stopped the warm containers (each runtime "
                    "then loses its runtime API: `Error: ... IncompleteMessage` is expected) ---\n")
            out += "\n".join("    " + line for line in after[-lines:])
        return out

    def stop(self):
        """SIGTERM (sam in the background ignores SIGINT): sam stops its
        warm containers; bounded, then killed."""
        if not hasattr(self, "stopped_at"):
            self.stopped_at = os.path.getsize(self.log_path)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


def tail(path, lines=25):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "\n".join("    " + line for line in f.read().splitlines()[-lines:])
    except OSError:
        return "    (no log)"


def _quote(value):
    """A parameter override value in the quoting sam's parser takes."""
    value = str(value)
    if value == "" or any(c in value for c in " ,=\"'{}"):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value
