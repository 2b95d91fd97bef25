"""scripts/bench: the password functions against the functions that check
no password (issue 22, item 4), from the sizes, cold and init parts of the
same run: each function built alone, the store on moto."""

import statistics

# The functions that check a new password (they link the policy, the
# blocklist filters and argon2id).
PASSWORD = ["validate-password", "reset-password", "set-password", "reset-password-signed", "reset-account"]
# The HTTP functions with a store that check no password: what the
# password functions are held against (reset-page and discovery have no
# store, send-email is the stream consumer).
OTHERS = ["request-reset", "validate-token", "request-user-reset", "send-reset-link", "recover-account",
          "oauth-token", "oauth-revoke", "oauth-userinfo"]
SIZE_TARGET_MIB, COLD_TARGET_MS = 1.0, 2.0
# For each, the function that checks no password and links the same AWS
# clients (reset-account has none: validate-token, without its KMS client):
# the difference is what checking and hashing passwords adds, apart from
# which SDK clients a function links.
PEERS = {"validate-password": "request-reset", "reset-password": "validate-token", "set-password": "validate-token",
         "reset-password-signed": "validate-token", "reset-account": "validate-token"}


def report_lines(arch, sizes, cold, init):
    """`sizes`: function -> (bootstrap bytes, zip bytes) of `arch`; `cold`:
    function -> (ms, rss, statuses); `init`: init_ready.summary()."""
    def median_of(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    size = {f: sizes[f][0] / 1024 / 1024 for f in sizes}
    cold_ms = {f: v[0] for f, v in cold.items()}
    ready = {f: v[0] for f, v in init.items()}
    base = {"size": median_of(size.get(f) for f in OTHERS), "cold": median_of(cold_ms.get(f) for f in OTHERS),
            "ready": median_of(ready.get(f) for f in OTHERS)}
    if not any(base.values()):
        return []

    def cell(table, f, key, unit):
        v = table.get(f)
        if v is None:
            return "-"
        if base[key] is None:
            return f"{v:.2f} {unit}"
        return f"{v:.2f} {unit} ({v - base[key]:+.2f})"

    lines = ["", f"## Password functions against the others ({arch}, each built alone)", "",
             "The five functions that check new passwords beside the median of the eight HTTP functions with a "
             f"store that check none ({', '.join(OTHERS)}), from the tables above (same run); in brackets, the "
             "difference from that median. Targets (issue 22): within "
             f"{SIZE_TARGET_MIB:g} MiB (arm64) and {COLD_TARGET_MS:g} ms of cold start of the others.", "",
             "| function | bootstrap | cold start | init to ready | bootstrap vs the peer with its AWS clients |",
             "|---|---|---|---|---|"]
    for f in PASSWORD:
        peer = PEERS[f]
        vs_peer = (f"{size[f] - size[peer]:+.2f} MiB ({peer})" if f in size and peer in size else "-")
        lines.append(f"| {f} | {cell(size, f, 'size', 'MiB')} | {cell(cold_ms, f, 'cold', 'ms')} "
                     f"| {cell(ready, f, 'ready', 'ms')} | {vs_peer} |")
    fmt = {"size": "MiB", "cold": "ms", "ready": "ms"}
    lines.append("| *median of the others* | " + " | ".join(
        f"{base[k]:.2f} {fmt[k]}" if base[k] is not None else "-" for k in ("size", "cold", "ready")) + " | |")
    return lines
