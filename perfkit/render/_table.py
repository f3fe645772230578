"""A plain table (title, columns, rows, notes) and its three forms: text, Markdown and HTML.

The report renderers (downcast, compression comparison, profile diff) each turn their model into
a :class:`Table` once; the text, Markdown and HTML renderers below print that one table, so the
three forms can never disagree about a figure.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from perfkit._atomic import dumps_strict


@dataclass(frozen=True)
class Column:
    """A column: its header and whether its cells are numbers (right-aligned)."""

    header: str
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    """What a report shows: a title, a header line, rows of cells and notes after the table."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    subtitle: str = ""


def to_text(t: Table) -> str:
    """Aligned plain text (what a terminal or a log shows)."""
    cells = [tuple(c.header for c in t.columns), *t.rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(t.columns))]

    def line(row: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if c.numeric else v.ljust(w)
            for v, w, c in zip(row, widths, t.columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [t.title] + ([t.subtitle] if t.subtitle else []) + [""]
    out += [line(r) for r in cells]
    out += [""] + list(t.notes) if t.notes else []
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(t: Table) -> str:
    """A GitHub-flavoured Markdown table (for a pull request or a notes file)."""
    out = [f"### {_md(t.title)}", ""]
    if t.subtitle:
        out += [_md(t.subtitle), ""]
    out.append("| " + " | ".join(_md(c.header) for c in t.columns) + " |")
    out.append("|" + "|".join("---:" if c.numeric else "---" for c in t.columns) + "|")
    out += ["| " + " | ".join(_md(v) for v in r) + " |" for r in t.rows]
    if t.notes:
        out += [""] + [f"- {_md(n)}" for n in t.notes]
    return "\n".join(out) + "\n"


CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:16px 24px;color:#1d232a}"
    "table{border-collapse:collapse}th,td{border-bottom:1px solid #d8dee4;padding:4px 8px;"
    "text-align:left;vertical-align:top}th{background:#f4f6fa}td.n,th.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}.muted{color:#57606a}"
)


def to_html(t: Table) -> str:
    """A self-contained HTML page (no scripts, nothing fetched); every cell escaped."""
    e = html.escape

    def cls(c: Column) -> str:
        return ' class="n"' if c.numeric else ""

    head = "".join(f"<th{cls(c)}>{e(c.header)}</th>" for c in t.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(c)}>{e(v)}</td>" for v, c in zip(r, t.columns, strict=True))
        + "</tr>"
        for r in t.rows
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in t.notes)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(t.title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{e(t.title)}</h1>"
        + (f"<p class='muted'>{e(t.subtitle)}</p>" if t.subtitle else "")
        + f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + "</body></html>\n"
    )


class TableRenderer:
    """Base of the report renderers: subclasses set ``table`` (model -> Table) and ``form``."""

    name: ClassVar[str]
    file_extension: ClassVar[str]
    form: ClassVar[Callable[[Table], str]]
    table: ClassVar[Callable[[Any], Table]]

    def render(self, model: Any) -> str:
        """The model's table in this renderer's form."""
        return type(self).form(type(self).table(model))


class JsonModelRenderer:
    """Base of the JSON renderers: subclasses set ``document`` (model -> JSON-ready dict)."""

    name: ClassVar[str] = "json"
    file_extension: ClassVar[str] = ".json"
    document: ClassVar[Callable[[Any], dict[str, Any]]]

    def render(self, model: Any) -> str:
        """Strict JSON: NaN and infinities become null, never a bare ``NaN``."""
        return dumps_strict(type(self).document(model), indent=2) + "\n"


def renderers_for(
    prefix: str, table: Callable[[Any], Table], document: Callable[[Any], dict[str, Any]]
) -> dict[str, type]:
    """The four renderer classes (terminal, markdown, html, json) of one report model."""
    forms = {
        "terminal": (to_text, ".txt"),
        "markdown": (to_markdown, ".md"),
        "html": (to_html, ".html"),
    }
    out: dict[str, type] = {}
    for name, (form, ext) in forms.items():
        out[name] = type(
            f"{prefix}{name.title()}Renderer",
            (TableRenderer,),
            {
                "name": name,
                "file_extension": ext,
                "form": staticmethod(form),
                "table": staticmethod(table),
            },
        )
    out["json"] = type(
        f"{prefix}JsonRenderer", (JsonModelRenderer,), {"document": staticmethod(document)}
    )
    return out
