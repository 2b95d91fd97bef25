"""`scripts/bench --init-layout`: writes functions/init_layout.ld, the list
of functions that the Lambda functions run before they ask for their first
event, which every function's build script (functions/init_layout.rs)
links first, together, in release builds.

Each function is built alone as `sam build` builds it, but with its symbols
kept (`-C strip=none` in RUSTFLAGS, which unlike the profile leaves every
crate's symbol hashes as in the shipped build; in its own target directory
so the shipped builds stay cached), and started under valgrind's callgrind
with a Runtime API that stops it at its first `GET next`. The functions
callgrind saw run inside the binary, over all of them, become the list.

Symbol names carry a hash of their crate's build (its version, features,
profile and toolchain, not its source), and LTO numbers the local ones: the
script lists each name as profiled, then again with any hash and number,
so that a build the profile did not see still gets most of its init code
together. Rerun it after upgrading the AWS SDK or the toolchain or changing
what `main` builds; a stale list only leaves some init code where it was.
"""

import http.server
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading

# The output section the script adds; scripts/checks/sam-local looks for it.
SECTION = ".text.rekey_init"
SCRIPT = os.path.join("functions", "init_layout.ld")
# cargo lambda builds for these CPUs unless RUSTFLAGS is set, which the
# profiled build sets: it names them itself, to inline as the shipped build does.
CARGO_LAMBDA_CPU = {"x86_64": "haswell", "arm64": "neoverse-n1"}
HASH = re.compile(r"17h[0-9a-f]{16}E")
LTO_SUFFIX = re.compile(r"\.(llvm\.)?\d+$")
RECURSION = re.compile(r"'\d+$")
# What a linker script takes as a section name unquoted (mangled Rust and C names are).
PLAIN = re.compile(r"^[A-Za-z0-9_.$*]+$")


def symbol_pattern(symbol):
    """A section pattern for `symbol` in any build: legacy-mangled Rust
    names end in a hash of the crate's build, LTO appends a number to the
    local ones."""
    return LTO_SUFFIX.sub(lambda m: "." + (m.group(1) or "") + "*", HASH.sub("17h*E", symbol))


def section_size(path, name=SECTION):
    """The size of ELF64 section `name` in `path` (0 if none): section
    headers survive `strip`, so this reads the shipped binaries."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return 0
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    strtab_off, = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)
    want = name.encode()
    for i in range(shnum):
        hdr = shoff + i * shentsize
        name_off, = struct.unpack_from("<I", data, hdr)
        start = strtab_off + name_off
        if data[start:data.index(b"\0", start)] == want:
            return struct.unpack_from("<Q", data, hdr + 0x20)[0]
    return 0


def ran_in(callgrind_out, binary):
    """The functions of `binary` that have a cost in `callgrind_out`
    (names and object files are compressed: `(id) name` once, `(id)` after)."""
    names, objects, ran = {}, {}, set()
    current_object = None
    entry = re.compile(r"^(c?fn|c?ob|fl|fi|fe|cfi|cfl)=\((\d+)\)(?: (.*))?$")
    with open(callgrind_out, errors="replace") as f:
        for line in f:
            m = entry.match(line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            if kind in ("ob", "cob"):
                if name is not None:
                    objects[ident] = name
                if kind == "ob":
                    current_object = objects.get(ident)
            elif kind in ("fn", "cfn"):
                if name is not None:
                    names[ident] = name
                if kind == "fn" and current_object == binary:
                    ran.add(ident)
    # A recursive function's deeper levels are named `name'2`, `name'3`.
    return {RECURSION.sub("", names[i]) for i in ran if i in names}


def profile(binary, env):
    """Starts `binary` under callgrind with a Runtime API that ends it at
    its first `GET next`; returns the functions that ran."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            # SIGTERM: valgrind writes its profile before it exits.
            os.kill(self.server.pid, signal.SIGTERM)
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the connection of the process it just ended

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}", binary],
                                env=dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server.pid = proc.pid
        try:
            proc.wait(timeout=300)
        finally:
            server.shutdown()
        if not os.path.exists(out):
            raise RuntimeError(f"callgrind wrote no profile for {binary} (exit {proc.returncode})")
        return ran_in(out, os.path.realpath(binary))


def script_text(symbols):
    """The linker script: the names as profiled first, so that a build like
    the profiled one gets exactly its init code together; then the same
    names with any hash and LTO number, so that a build with other hashes
    (another toolchain, other dependency versions or features) still gets
    most of it together. Every instance of a generic function shares one
    path, so the second form also takes instances that init does not run."""
    # callgrind names code outside any symbol by its address: no section to match.
    symbols = {s for s in symbols if PLAIN.match(s) and not s.startswith("0x")}
    anyhash = {symbol_pattern(s) for s in symbols} - symbols
    lines = ["/* Written by `scripts/bench --init-layout`; read by functions/init_layout.rs.",
             " * The functions the Lambda functions run from process start to their first",
             " * `GET next`, linked together before the rest of the code, so that init",
             " * touches fewer code pages. Rerun after an SDK or toolchain upgrade: a stale",
             " * list only leaves init code where it was. */",
             "SECTIONS {",
             f"  {SECTION} : {{"]
    # `#[cold]` functions (hashbrown's rehash, say) are in `.text.unlikely.<name>`.
    lines += [f"    *(.text.{p} .text.unlikely.{p})" for p in sorted(symbols)]
    lines += [f"    *(.text.{p} .text.unlikely.{p})" for p in sorted(anyhash)]
    lines += ["  }", "} INSERT BEFORE .text;", ""]
    return "\n".join(lines)


def write(root, functions, arch, run, env, rekey_env, log):
    """Builds each of `functions` with symbols, profiles its init, and
    writes the union as functions/init_layout.ld."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--init-layout needs valgrind (Debian: apt-get install valgrind)")
    flag = {"x86_64": "--x86-64", "arm64": "--arm64"}[arch]
    target = os.path.join(root, "target", "init-layout")
    lambda_dir = os.path.join(target, "lambda")
    rustflags = f"{env.get('RUSTFLAGS', '')} -C target-cpu={CARGO_LAMBDA_CPU[arch]} -C strip=none".strip()
    # Without the current layout: valgrind names no function outside `.text`.
    build_env = dict(env, CARGO_TARGET_DIR=target, RUSTFLAGS=rustflags, REKEY_BUILD_INIT_LAYOUT="off")
    symbols = set()
    for f in functions:
        run(["cargo", "lambda", "build", "--release", flag, "-p", f, "--lambda-dir", lambda_dir], env=build_env)
        ran = profile(os.path.join(lambda_dir, f, "bootstrap"), rekey_env)
        if not ran:
            raise RuntimeError(f"{f}: callgrind saw none of its functions run")
        log(f"init layout: {f} ran {len(ran)} of its functions before its first GET next")
        symbols |= ran
    with open(os.path.join(root, SCRIPT), "w") as out:
        out.write(script_text(symbols))
    log(f"init layout: {len(symbols)} functions in {SCRIPT}")


if __name__ == "__main__":
    # `init_layout.py BOOTSTRAP...` (scripts/checks/sam-local): fails unless
    # every binary links init's code first, as its build script asks.
    import sys
    sizes = {p: section_size(p) for p in sys.argv[1:]}
    for p, size in sizes.items():
        print(f"{p}: {SECTION} {size // 1024} KiB")
    missing = [p for p, size in sizes.items() if size == 0]
    if missing or len(sys.argv) < 2:
        raise SystemExit(f"no {SECTION} section (functions/init_layout.rs did not apply): {', '.join(missing) or 'no binaries given'}")
