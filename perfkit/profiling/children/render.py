"""The processes part of the reports: who ran, what each did, and where all of them spent CPU.

The terminal summary gets :func:`terminal_sections` (a process table with each process's top
function, and the functions of all processes ranked by CPU); the HTML report gets
:func:`html_section` (the same tables, each process's call tree and the merged tree). Both read
only the :class:`~perfkit.profiling.model.Profile`; program strings are escaped by the caller's
``esc``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perfkit.render import _fmt

if TYPE_CHECKING:
    from perfkit.profiling.model import FrameNode, FunctionStat, ProcessProfile, Profile

TOP_N = 10
#: Command lines are cut to this many characters in the process table.
COMMAND_WIDTH = 70
#: Tree nodes under this share of their process's time are left out of the HTML page.
MIN_TREE_SHARE = 0.005


def _rows(profile: Profile) -> list[tuple[ProcessProfile, str, float, float]]:
    """``(process, top function, its own CPU, the process's sampled CPU)`` per process."""
    from perfkit.profiling.children.follow import process_trees, top_function

    out = []
    for proc, threads in process_trees(profile):
        if proc is None:
            continue
        name, own, total = top_function(threads)
        out.append((proc, name, own, total))
    return out


def top_cpu_functions(profile: Profile, n: int = TOP_N) -> list[FunctionStat]:
    """The ``n`` functions with the most own CPU time over all processes."""
    return sorted(profile.functions, key=lambda f: -(f.self_cpu_s or 0.0))[:n]


def _clip(text: str, width: int = COMMAND_WIDTH) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n")  # one row per process
    return text if len(text) <= width else text[: width - 1] + "…"


def terminal_sections(profile: Profile) -> list[Any]:
    """Sections of the terminal summary for the processes (none unless children were followed)."""
    from perfkit.render.terminal import Section

    if len(profile.processes) < 2:
        return []
    rows = _rows(profile)
    all_cpu = sum(p.cpu_s for p, *_ in rows)
    sec = Section(
        f"Processes ({len(rows)}; CPU of all processes {_fmt.seconds(all_cpu)})",
        ("pid", "role", "wall", "cpu", "top function (own CPU)", "command"),
        right=(True, False, True, True, False, False),
    )
    for proc, name, own, total in rows:
        top = f"{name} ({_fmt.pct(own, total)})" if name else ""
        sec.rows.append(
            (
                str(proc.pid),
                proc.role,
                _fmt.seconds(proc.wall_s),
                _fmt.seconds(proc.cpu_s),
                top,
                _clip(proc.command),
            )
        )
    cpu = Section(
        "Top functions by own CPU, all processes",
        ("own cpu", "% of all cpu", "function", "where"),
        right=(True, True, False, False),
    )
    for f in top_cpu_functions(profile):
        if not f.self_cpu_s:
            break
        cpu.rows.append(
            (
                _fmt.seconds(f.self_cpu_s),
                _fmt.pct(f.self_cpu_s, all_cpu),
                f.function,
                _fmt.where(f.file, f.line, profile.cwd),
            )
        )
    return [sec, cpu] if cpu.rows else [sec]


def html_section(profile: Profile, esc: Callable[[object], str]) -> str:
    """The processes section of the HTML report (empty unless children were followed)."""
    from perfkit.profiling.children.follow import merged_tree, process_trees

    if len(profile.processes) < 2:
        return ""
    rows = _rows(profile)
    all_cpu = sum(p.cpu_s for p, *_ in rows)
    out = [
        "<h2>Processes</h2>",
        f'<p class="note">{len(rows)} processes · CPU of all processes '
        f"{esc(_fmt.seconds(all_cpu))}. The function table, hot lines and hints above include "
        "every process; wall times add up across processes.</p>",
        "<table><tr><th class=n>pid</th><th>role</th><th class=n>wall</th><th class=n>cpu</th>"
        "<th>top function (own CPU)</th><th>ended</th><th>command</th></tr>",
    ]
    for proc, name, own, total in rows:
        top = f"{name} ({_fmt.pct(own, total)})" if name else ""
        out.append(
            f"<tr><td class=n>{proc.pid}</td><td>{esc(proc.role)}</td>"
            f"<td class=n>{esc(_fmt.seconds(proc.wall_s))}</td>"
            f"<td class=n>{esc(_fmt.seconds(proc.cpu_s))}</td><td><code>{esc(top)}</code></td>"
            f"<td>{esc(proc.ended)}</td><td><code>{esc(proc.command)}</code></td></tr>"
        )
    out.append("</table>")
    out.append("<h3>Top functions by own CPU, all processes</h3><table>")
    out.append("<tr><th class=n>own cpu</th><th class=n>%</th><th>function</th><th>where</th></tr>")
    for f in top_cpu_functions(profile):
        if not f.self_cpu_s:
            break
        out.append(
            f"<tr><td class=n>{esc(_fmt.seconds(f.self_cpu_s))}</td>"
            f"<td class=n>{esc(_fmt.pct(f.self_cpu_s, all_cpu))}</td>"
            f"<td><code>{esc(f.function)}</code></td>"
            f"<td>{esc(_fmt.where(f.file, f.line, profile.cwd))}</td></tr>"
        )
    out.append("</table>")
    merged = merged_tree(profile)
    out.append("<h3>Call tree, all processes merged</h3>")
    out.append(_tree_html(merged, profile.cwd, esc))
    for proc, threads in process_trees(profile):
        if proc is None or proc.role == "main":
            continue  # the main process's tree is the Call tree section
        title = f"{proc.role} · pid {proc.pid}"
        for thread in threads:
            out.append(
                f"<h3>{esc(title)} · {esc(thread.name)} "
                f'<span class="meta">{esc(_fmt.seconds(thread.root.wall_s))}</span></h3>'
            )
            out.append(_tree_html(thread.root, profile.cwd, esc))
    return "\n".join(out)


def _tree_html(root: FrameNode, cwd: str, esc: Callable[[object], str]) -> str:
    """Nested ``<details>`` for ``root``'s children, built with an explicit stack."""
    total = root.wall_s or 1.0
    parts: list[str] = []
    # (node, depth, closing) items; closing items emit the end tag of an opened <details>.
    stack: list[tuple[FrameNode | None, int, str]] = [
        (c, 0, "") for c in reversed(root.children) if c.wall_s >= MIN_TREE_SHARE * total
    ]
    while stack:
        node, depth, closing = stack.pop()
        if node is None:
            parts.append(closing)
            continue
        label = (
            f'<span class="t">{esc(_fmt.seconds(node.wall_s))}</span>'
            f"<code>{esc(node.function)}</code>"
            f'<span class="w">{esc(_fmt.pct(node.wall_s, total))} · cpu '
            f"{esc(_fmt.seconds(node.cpu_s))} · own {esc(_fmt.seconds(node.self_wall_s))} · "
            f"{esc(_fmt.where(node.file, node.line, cwd))}</span>"
        )
        kids = [c for c in node.children if c.wall_s >= MIN_TREE_SHARE * total]
        if not kids:
            parts.append(f'<div class="leaf">{label}</div>')
            continue
        opened = " open" if depth < 4 else ""
        parts.append(f"<details{opened}><summary>{label}</summary>")
        stack.append((None, depth, "</details>"))
        stack.extend((c, depth + 1, "") for c in reversed(kids))
    return "".join(parts)
