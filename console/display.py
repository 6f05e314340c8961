"""Small renderers shared by every admin page: status badges, durations, admin links."""

from django.urls import NoReverseMatch, reverse
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
