"""Small renderers shared by every admin page: status badges, durations, admin links."""

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join


def badge(value, label=None):
    """A coloured pill for a run status, check status or severity (colours in console/console.css)."""
    if not value:
        return "-"
    return format_html('<span class="badge badge-{}">{}</span>', value, label or value)


def duration(started_at, finished_at):
    """`1 h 02 min`, `3 min 05 s`, `42 s`; '-' until the run has started and finished."""
    if not (started_at and finished_at):
        return "-"
    seconds = max(int((finished_at - started_at).total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def admin_url(name: str, *args) -> str | None:
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return None


def admin_link(name: str, pk, text):
    """A link to an admin page, or the plain text when that admin is not registered."""
    if pk is None:
        return "-"
    url = admin_url(name, pk)
    return format_html('<a href="{}">{}</a>', url, text) if url else text


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def table(headers, rows, empty="-", footer=""):
    """A small read-only table for a change page (cells are escaped unless already safe)."""
    if not rows:
        return format_html('<p class="console-empty">{}</p>{}', empty, footer)
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html(
        '<table class="console-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}', head, body, footer
    )


SEVERITY_HINTS = {
    "error": "severity error: a failure breaks the run",
    "warn": "severity warn: a failure degrades the run",
    "info": "severity info: for the record",
}


def severity_badge(value):
    """A check's severity: outlined, lower case and flagged, so it never reads like the filled status badge
    beside it ("ERROR" status, "⚑ error" severity)."""
    if not value:
        return "-"
    return format_html(
        '<span class="severity severity-{}" title="{}">⚑ {}</span>', value, SEVERITY_HINTS.get(value, value), value
    )


RUN_ID_CHARS = 24
_RUN_ID_HEAD = 4


def short_run_id(run_id: str, pipeline_name: str = "") -> str:
    """A run id that fits a column. Airflow's ids (`<dag>__scheduled__2026-12-01T06:00:00+00:00`) differ at
    their end, the logical date: the leading `<pipeline>__` (the pipeline column says it) and a UTC offset
    go, then a still-long id keeps its first 4 and last 19 characters."""
    if len(run_id) <= RUN_ID_CHARS:
        return run_id
    if pipeline_name and run_id.startswith(f"{pipeline_name}__"):
        run_id = run_id[len(pipeline_name) + 2 :]
    run_id = run_id.removesuffix("+00:00")
    if len(run_id) <= RUN_ID_CHARS:
        return run_id
    return f"{run_id[:_RUN_ID_HEAD]}…{run_id[-(RUN_ID_CHARS - _RUN_ID_HEAD - 1) :]}"


def run_cell(run_pk, run_id, pipeline_name=""):
    """The run column of every list: the shortened id, the whole id on hover (title) and for screen readers."""
    if not run_id:
        return "-"
    text = format_html(
        '<span class="run-id" title="{}" aria-label="{}">{}</span>', run_id, run_id, short_run_id(run_id, pipeline_name)
    )
    url = admin_url("catalog_run_change", run_pk) if run_pk is not None else None
    return format_html('<a href="{}">{}</a>', url, text) if url else text


def number(value):
    """A count or threshold as read: `3`, not `3.0`; `-` for none."""
    if value is None:
        return "-"
    return int(value) if float(value).is_integer() else value


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def error_cell(text):
    """The first line of an error, cut to its column by CSS; the whole first line on hover."""
    line = first_line(text)
    if not line:
        return "-"
    return format_html('<span class="error-line" title="{}">{}</span>', line, line)


def since(value):
    """`12 min ago`, with the exact time (UTC) on hover."""
    if not value:
        return "-"
    return format_html('<time datetime="{}" title="{} UTC">{}</time>', value.isoformat(), when(value), ago(value))


def ago(value, now=None) -> str:
    """`just now`, `12 min ago`, `3 h ago`, `2 d ago`: short enough for a narrow column."""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def overrun_flag(overrun):
    """The flag beside a running run's status when it runs longer than usual (console.selectors.overruns)."""
    if overrun is None:
        return ""
    return format_html(
        ' <span class="overrun" title="running {} so far; usually {} (median of its last successful runs)">'
        "▲ {}x usual</span>",
        _minutes(overrun.elapsed),
        _minutes(overrun.usual),
        f"{overrun.factor:.1f}",
    )


def _minutes(delta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


LATE_REASONS = {"missed_slot": "missed slot", "overrun": "overrun"}


def lateness(pipeline):
    """`PAUSED`, or a late flag saying why (catalog.lateness) with the slot on hover; '-' while on time."""
    if pipeline.paused:
        return format_html('<span class="badge badge-paused">paused</span>')
    if not pipeline.late_slot:
        return "-"
    what = "no run started for the slot of" if pipeline.late_reason == "missed_slot" else "a run started at"
    return format_html(
        '<span class="late" title="{} {} UTC; late since {} UTC">⏰ late: {}</span>',
        what,
        when(pipeline.late_slot),
        when(pipeline.late_detected_at),
        LATE_REASONS.get(pipeline.late_reason, pipeline.late_reason),
    )
