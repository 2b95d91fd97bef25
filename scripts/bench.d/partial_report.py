"""`scripts/bench --only PARTS --write`: a partial run's sections into
docs/benchmarks.md without losing the sections it did not measure (a full
run takes most of an hour on 2 cores; a change to one part reruns that part).

A section is a `## ` heading and the lines up to the next one; sections are
matched by their title up to the first " (" (the parenthesis holds figures
such as the iteration count). Kept sections get a line saying they are from
an earlier run, once.
"""

import os

KEPT_NOTE = "*Not rerun by the partial run of {now} (`--only {parts}`): this section is from an earlier run.*"
KEPT_PREFIX = "*Not rerun by the partial run of "


def _title(heading):
    return heading[3:].split(" (", 1)[0].strip()


def _sections(lines):
    """(preamble, [(title, [lines])]) of the lines before the analysis."""
    preamble, sections = [], []
    for line in lines:
        if line.startswith("## "):
            sections.append((_title(line), [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    return preamble, sections


def merge(new_lines, head, report, marker, parts, now):
    """This run's report lines (`new_lines[:head]` its preamble) merged
    into the sections of `report`, in the file's order; sections new to
    the file follow the one they follow in this run."""
    old_text = open(report).read() if os.path.exists(report) else ""
    old_text = old_text.split(marker, 1)[0]
    _, old = _sections(old_text.splitlines())
    _, new = _sections(new_lines[head:])
    fresh = dict(new)
    note = KEPT_NOTE.format(now=now, parts=",".join(parts))
    order = [t for t, _ in old]
    for i, (title, _) in enumerate(new):
        if title not in order:
            after = next((new[j][0] for j in range(i - 1, -1, -1) if new[j][0] in order), None)
            order.insert(order.index(after) + 1 if after else len(order), title)
    out = new_lines[:head] + ["", f"This file's sections were last written by a partial run ({now}, "
                              f"`--only {','.join(parts)}`); a section it did not measure says so."]
    olds = dict(old)
    for title in order:
        if title in fresh:
            out += [""] + _strip_blank(fresh[title])
        else:
            body = [line for line in olds[title] if not line.startswith(KEPT_PREFIX)]
            body = _strip_blank(body)
            out += ["", body[0], "", note] + body[1:]
    out.append("")
    return out


def _strip_blank(lines):
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines
