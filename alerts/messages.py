"""What an alert says: one line of text (Slack, e-mail subject) and the JSON a webhook receives.

Names in an alert (pipelines, checks, runs) come from tenants: Slack's control characters are escaped so a
pipeline named `<!channel>` cannot mention a whole channel, and an e-mail subject holds no line break.
"""

from alerts.models import AlertEventType

MAX_SUBJECT_LENGTH = 200


def summary(payload: dict) -> str:
    event = payload.get("event")
    pipeline = payload.get("pipeline") or "(no pipeline)"
    if event == AlertEventType.RUN_FAILED:
        return f"Run {payload.get('run_id')} of pipeline {pipeline} failed."
    if event == AlertEventType.CHECK_FAILED:
        outcome = "could not run" if payload.get("status") == "error" else "failed"
        where = f" on pipeline {payload['pipeline']}" if payload.get("pipeline") else ""
        found = ""
        if payload.get("violations") is not None:
            found = f": {payload['violations']:g} violations (threshold {payload.get('threshold', 0):g})"
        return f"Check {payload.get('check_id')} ({payload.get('severity')}) {outcome}{where}{found}."
    if event == AlertEventType.PIPELINE_LATE:
        if payload.get("late_reason") == "overrun":
            return f"Pipeline {pipeline} is late: a run started at {payload.get('late_slot')} is still running."
        return f"Pipeline {pipeline} is late: no run started for the slot {payload.get('late_slot')}."
    return f"Alert {event}."


def webhook_body(alert, rule) -> dict:
    return {"alert_id": str(alert.pk), "rule": rule.name, "created_at": alert.created_at.isoformat(), **alert.payload}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(alert, rule) -> dict:
    text = _slack_escape(f"[{alert.payload.get('organization')}] {summary(alert.payload)}")
    context = _slack_escape(f"DataXPipe alert rule {rule.name} · {alert.event} · alert {alert.pk}")
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def email_subject(alert) -> str:
    subject = f"[DataXPipe {alert.payload.get('organization')}] {summary(alert.payload)}"
    return " ".join(subject.split())[:MAX_SUBJECT_LENGTH]


def email_text(alert, rule) -> str:
    lines = [summary(alert.payload), ""]
    lines += [f"{key}: {value}" for key, value in sorted(alert.payload.items()) if value not in (None, "")]
    lines += ["", f"Sent by the DataXPipe alert rule {rule.name!r} (alert {alert.pk})."]
    return "\n".join(lines)
