"""scripts/bench's part `init` (issue 22, item 5): init-to-ready.

For every function as built alone, and for a bare `lambda_runtime` binary
(bench.d/bare-runtime) built with the workspace's release profile: the time
from process start to its first `GET /2018-06-01/runtime/invocation/next`
(init: everything main does before it asks for work), and the first
request's own handling time (the event handed over to the answer posted),
so that work moved from init into the first request shows. The starts are
interleaved (one start of each binary per round, in a rotated order), so a
busy moment of the shared machine falls on every binary alike and the floor
is measured in the same run as the functions.

Every binary runs from copies written just before (`unpacked`), never from
the file the linker wrote: the same bytes started 0.2 to 0.7 ms later from
the linker's file, by a different amount per file, on this machine (kernel
6.18, ext4; docs/benchmarks.md, "Targets"). One copy is written in one
piece, one in 4 KiB pieces (as slow as the linker's file), and both are
started in the same rounds.
"""

import os
import shutil
import statistics
import subprocess
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
BARE_MANIFEST = os.path.join(HERE, "bare-runtime", "Cargo.toml")
BARE = "bare lambda_runtime"
REFERENCE = "reset-page"
# Issue 22's target: every function within this of reset-page, same run.
WITHIN_MS = 1.0
# Each binary is also started from a copy written in pieces this small, the
# slow way for the page cache (`unpacked`), under its name with this suffix.
SMALL_PIECE = 4096
SMALL = " (4 KiB pieces)"


def release_profile_overrides(workspace_manifest):
    """The workspace's `[profile.release]` as `--config` arguments: the bare
    binary is outside the workspace (no template, test or lint sees it),
    so it takes the profile from here rather than a copy that could drift.
    Per-package overrides name workspace crates and do not apply to it."""
    with open(workspace_manifest, "rb") as f:
        profile = tomllib.load(f)["profile"]["release"]
    out = []
    for key, value in profile.items():
        if isinstance(value, dict):
            continue
        literal = str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, int) else f'"{value}"'
        out += ["--config", f"profile.release.{key}={literal}"]
    return out


def bare_bootstrap(root, arch):
    return os.path.join(root, "target", f"lambda-bare-{arch}", "bare-runtime", "bootstrap")


def build_bare(root, arch, run, env):
    """cargo lambda, as the functions are built, with the committed lock
    (the lambda_runtime, tokio and hyper versions the functions link)."""
    flag = {"x86_64": "--x86-64", "arm64": "--arm64"}[arch]
    # CARGO_TARGET_DIR: cargo lambda passes --target-dir on to `cargo metadata`, which refuses it.
    run(["cargo", "lambda", "build", "--release", flag, "--locked", "--manifest-path", BARE_MANIFEST,
         "--lambda-dir", os.path.join(root, "target", f"lambda-bare-{arch}"),
         *release_profile_overrides(os.path.join(root, "Cargo.toml"))],
        env=dict(env, CARGO_TARGET_DIR=os.path.join(root, "target", "bench-bare")))
    return bare_bootstrap(root, arch)


def unpacked(binaries, into, piece=None):
    """`binaries`: name -> path. Copies each into `into`/name/bootstrap,
    in one write (or in writes of `piece` bytes) and an fsync, all alike,
    and returns name -> the copy.
    How a file was written decides how the page cache holds it: written
    in 4 KiB pieces, a binary starts as slowly as from the linker's file,
    in 32 KiB or larger ones fast (and this machine's proactive reclaim
    drops cold files, to be read back later). That moved init by up to
    0.7 ms between identical bytes, by a different amount per file: it
    made oauth-revoke slower than recover-account with the same
    instructions, faults and system calls."""
    shutil.rmtree(into, ignore_errors=True)
    out = {}
    for name, path in binaries.items():
        with open(path, "rb") as f:
            data = f.read()
        dest = os.path.join(into, name.replace(" ", "-"), "bootstrap")
        os.makedirs(os.path.dirname(dest))
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view[:piece or len(view)]):]
            os.fsync(fd)
        finally:
            os.close(fd)
        out[name] = dest
    return out


def measure(starts, rounds=20):
    """`starts`: name -> a callable that starts the binary once and returns
    (seconds to the first next, seconds the first request took, status,
    CPU seconds to the first next). Returns name -> {ready: [ms], first:
    [ms], cpu: [ms], statuses: {status: n}}."""
    names = list(starts)
    out = {n: {"ready": [], "first": [], "cpu": [], "statuses": {}} for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            ready, first, status, cpu = starts[name]()
            out[name]["ready"].append(ready * 1000)
            out[name]["first"].append(first * 1000)
            if cpu is not None:
                out[name]["cpu"].append(cpu * 1000)
            out[name]["statuses"][status] = out[name]["statuses"].get(status, 0) + 1
    return out


def p90(samples):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def summary(results):
    """name -> (ready p50, ready p90, first p50, first p90, statuses, CPU
    to ready p50 or None)."""
    return {n: (statistics.median(v["ready"]), p90(v["ready"]), statistics.median(v["first"]), p90(v["first"]),
                v["statuses"], statistics.median(v["cpu"]) if v["cpu"] else None) for n, v in results.items()}


def against_target(name, ms, reference_ms):
    """The table cell: `name`'s median against reset-page's, marked when over."""
    if ms is None or reference_ms is None or name in (BARE, REFERENCE):
        return "-"
    d = ms - reference_ms
    return f"{d:+.2f} ms" + ("" if d <= WITHIN_MS else " (over)")


def report_lines(stats, seen, arch):
    """docs/benchmarks.md's section; `stats` from summary()."""
    rounds = sum(next(iter(stats.values()))[4].values()) if stats else 0
    floor = stats.get(BARE, (None,) * 6)[0]
    ref = stats.get(REFERENCE, (None,) * 6)[0]
    ref_cpu = stats.get(REFERENCE, (None,) * 6)[5]
    lines = ["", f"## Init to ready ({arch} binaries, this machine)", "",
             "Process start to the function's first `GET /2018-06-01/runtime/invocation/next` under scripts/bench's "
             "Runtime API emulator (everything `main` does before it asks for work), and beside it the first "
             "request's own time (the event handed over to the answer posted; the store on moto, the previous runs' "
             f"events), so that work moved out of init into the first request shows. {rounds} starts of each binary, "
             "interleaved (one of each per round, the order rotated), each function built alone; the floor is a "
             "bare `lambda_runtime` binary (scripts/bench.d/bare-runtime) built with the same release profile in "
             "the same run. Every binary runs from a copy the bench writes in one pass just before, all alike, "
             "not from the linker's file: how a file was written and read back decides how the kernel caches it, "
             "and that moved init by up to 0.7 ms between identical bytes (\"Targets\", issue 22, item 5). "
             "The last two columns start a second copy, written in 4 KiB pieces: as slow as the linker's file, "
             "the slow case measured here, in the same rounds. Every function links the code its init runs "
             "first (functions/init_layout.ld; docs/architecture.md, \"Init layout\"); the bare runtime does not. "
             "p90: the 90th percentile. CPU: the time all the process's threads had run when "
             "its first `GET next` arrived (/proc/PID/task/*/schedstat; it then waits on the answer), the part "
             "of init that depends least on what else the shared machine runs (a loaded machine still inflates it, "
             "through the caches the neighbours share: compare within one run).", "",
             f"Target (issue 22): every function within {WITHIN_MS:g} ms of {REFERENCE}'s median, same run.", "",
             "| binary | init to ready, p50 | p90 | vs floor | vs reset-page | CPU to ready, p50 | vs reset-page "
             "| first request, p50 | p90 | answers | 4 KiB pieces: init to ready, p50 | vs reset-page |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    order = [BARE] + [n for n in stats if n != BARE and not n.endswith(SMALL)]
    ref_small = stats.get(REFERENCE + SMALL, (None,) * 6)[0]
    for n in order:
        if n not in stats:
            continue
        r50, r90, f50, f90, statuses, cpu = stats[n]
        cpu_cell = f"{cpu:.2f} ms" if cpu is not None else "-"
        cpu_vs = f"{cpu - ref_cpu:+.2f} ms" if cpu is not None and ref_cpu is not None and n not in (BARE, REFERENCE) \
            else "-"
        vs_floor = f"{r50 - floor:+.2f} ms" if floor is not None and n != BARE else "-"
        vs_ref = against_target(n, r50, ref)
        small = stats.get(n + SMALL, (None,) * 6)[0]
        small_cell = f"{small:.2f} ms" if small is not None else "-"
        small_vs = against_target(n, small, ref_small)
        name = f"*{n} (floor)*" if n == BARE else n
        lines.append(f"| {name} | {r50:.2f} ms | {r90:.2f} ms | {vs_floor} | {vs_ref} | {cpu_cell} | {cpu_vs} "
                     f"| {f50:.2f} ms | {f90:.2f} ms | {seen(statuses)} | {small_cell} | {small_vs} |")
    return lines
