"""sqlglot's refusals as sentences about the caller's SQL.

sqlglot describes a parse error in its own terms ("Required keyword: 'this' missing for <class
'sqlglot.expressions.core.Paren'>", "Expected table name but got <Token token_type: TokenType.SENTINEL ...>")
and a tokenizer error by echoing a slice of the input. A person reads what is wrong and where instead: the
description is matched against the few shapes sqlglot uses, and anything unrecognised falls back to a plain
"not valid here" at the position, so no parser internals reach a response.
"""

import re

from sqlglot.errors import ParseError, TokenError

_MAX_QUOTED = 40


def _quoted(text: str) -> str:
    text = " ".join(str(text).split())
    text = f"{text[:_MAX_QUOTED]}…" if len(text) > _MAX_QUOTED else text
    return f'"{text}"' if "'" in text else f"'{text}'"


def _parse_phrase(description: str, near: str) -> str:
    if description.startswith("Required keyword:"):
        return f"something is missing after {near}"
    if description.startswith("Invalid expression / Unexpected token"):
        return f"{near} is not expected there"
    if description.startswith("Expected table name"):
        return f"a table name is missing after {near}"
    if match := re.fullmatch(r"Expecting (\S+)", description):
        return f"a closing {_quoted(match.group(1))} is missing"
    if match := re.fullmatch(r"Expected (\w+) after (\w+)", description):
        expected = "a type" if match.group(1) == "TYPE" else _quoted(match.group(1))
        return f"{expected} is missing after {match.group(2)}"
    if match := re.fullmatch(r"Expected (\S+)", description):
        return f"{_quoted(match.group(1))} is missing"
    if description.startswith("Failed to parse any statement following CTE"):
        return "a WITH clause must be followed by its SELECT"
    return f"the SQL is not valid at {near}"


def parse_error_sentence(exc: ParseError) -> str:
    """What is wrong and where, e.g. "something is missing after 'WHERE' (line 1, column 28)"."""
    errors = getattr(exc, "errors", None) or [{}]
    error = errors[0]
    near = _quoted(error.get("highlight") or "the end")
    phrase = _parse_phrase(str(error.get("description") or ""), near)
    if error.get("line") and error.get("col"):
        return f"{phrase} (line {error['line']}, column {error['col']})"
    return phrase


def token_error_sentence(exc: TokenError, sql: str) -> str:
    """sqlglot's tokenizer stops at a quote, quoted name, comment or literal it cannot close or read."""
    match = re.search(r"Error tokenizing '(.*)'\Z", str(exc), flags=re.DOTALL)
    read = match.group(1) if match else ""
    start = sql.find(read) if read else -1
    phrase = "a quoted string, quoted name, comment or literal is not closed or not valid"
    if start < 0:
        return phrase
    stop = start + len(read)
    line = sql.count("\n", 0, stop) + 1
    column = stop - (sql.rfind("\n", 0, stop) + 1) + 1
    return f"{phrase} (reading stopped at line {line}, column {column})"
