import logging
import re

# Anything that looks like a DataXPipe key, a bearer token or a DSN password is masked before a
# log line is written, whatever logger produced it.
_PATTERNS = [
    # Possessive: a key already masked ("dxp_abcd1234…[redacted]") is not masked twice.
    (re.compile(r"dxp_[A-Za-z0-9]{4,}+(?!…)"), lambda m: m.group(0)[:12] + "…[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/=]+"), lambda m: m.group(1) + "[redacted]"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), lambda m: m.group(1) + "[redacted]@"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
