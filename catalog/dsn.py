"""Postgres DSNs: take a password out before storing, put it back when executing, mask it for display.

Both URL DSNs (`postgresql://user:pw@host/db?password=pw`) and libpq key/value DSNs
(`host=h user=u password=pw`) are understood. A URL's password (in the userinfo or the query
string) is moved out so it can be stored encrypted; a key/value DSN with a password is refused by
the config validation, which points to `password_secret` instead.
"""

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

URL_SCHEMES = ("postgresql", "postgres")
PASSWORD_MASK = "********"  # noqa: S105 (a display mask, not a password)
_KEYVALUE_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.IGNORECASE)
_KEYVALUE_SSL_PASSWORD = re.compile(r"(?:^|\s)sslpassword\s*=", re.IGNORECASE)


def is_url_dsn(dsn: str) -> bool:
    """True for a well-formed URL DSN (the config validation refuses a malformed one, `postgresql://[broken`)."""
    try:
        return urlsplit(dsn).scheme in URL_SCHEMES
    except ValueError:
        return False


def keyvalue_dsn_has_password(dsn: str) -> bool:
    return not is_url_dsn(dsn) and bool(_KEYVALUE_PASSWORD.search(dsn))


def has_ssl_password(dsn: str) -> bool:
    """libpq's sslpassword (the client key's passphrase) is a secret the catalog does not take out of a DSN."""
    if is_url_dsn(dsn):
        return any(key.lower() == "sslpassword" for key, _ in parse_qsl(urlsplit(dsn).query, keep_blank_values=True))
    return bool(_KEYVALUE_SSL_PASSWORD.search(dsn))


def _netloc(username: str | None, password: str | None, hostport: str) -> str:
    if username is None and password is None:
        return hostport
    userinfo = quote(unquote(username or ""), safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    return f"{userinfo}@{hostport}"


def _hostport(parts) -> str:
    return parts.netloc.rsplit("@", 1)[-1]


def split_password(dsn: str) -> tuple[str, str | None]:
    """(the DSN without any password, the password or None) for a URL DSN."""
    parts = urlsplit(dsn)
    password = unquote(parts.password) if parts.password is not None else None
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if key.lower() != "password"]
    for key, value in query:
        if key.lower() == "password" and password is None:
            password = value
    netloc = _netloc(parts.username, None, _hostport(parts)) if parts.password is not None else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept), parts.fragment)), password


def with_password(dsn: str, password: str) -> str:
    """The URL DSN with `password` set in its userinfo."""
    parts = urlsplit(dsn)
    netloc = _netloc(parts.username or "", password, _hostport(parts))
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def has_password(dsn: str) -> bool:
    return split_password(dsn)[1] is not None if is_url_dsn(dsn) else keyvalue_dsn_has_password(dsn)


def masked(dsn: str) -> str:
    """For display: the DSN with a mask where its stored password goes."""
    if not is_url_dsn(dsn):
        return dsn
    parts = urlsplit(dsn)
    netloc = f"{parts.username or ''}:{PASSWORD_MASK}@{_hostport(parts)}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
