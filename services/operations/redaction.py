"""What may reach a log line: URLs without their query values, exception text without secrets, tracebacks
without live frames.

Three rules, applied where a log line is made rather than by each caller:

- A URL keeps its path and the names of its query parameters; the values are redacted unless the parameter is
  on a short allow-list of harmless ones (`fresh_token=true`). An allow-list covers every secret name, however
  it is cased or percent-encoded (`?%74oken=`, `?TOKEN=`), including the names we have not thought of yet.
  A path segment shaped like a token (a client that put one in the path, a picture's random key) goes too.
- Free text about a request (an exception's message, a Tornado warning) loses every value the request carried
  (its query, its body fields, its credentials), every `name=value` and `'name': 'value'` whose name is not
  harmless, every JWT, every `Bearer` credential and every long random-looking string, so a token the server
  itself just made (the fragment of a redirect) is caught too. Every other line the process writes gets the
  light version on its way out: JWTs, credentials and values of secret-named fields go, while what operators
  need to read (a picture's key, `JWT_KEYS_AUTO_GENERATE=false`) stays.
- A traceback is rendered here, frames as code (file, line, source) and messages scrubbed, and the record keeps
  only that text: no handler (a Sentry integration, a debug formatter) can walk the frames' locals.
"""

from __future__ import annotations

import logging
import re
import traceback
import unicodedata
import urllib.parse
from collections.abc import Iterable

REDACTED = "[redacted]"
# Query parameters whose short plain values say something useful and nothing secret.
VISIBLE_NAMES = frozenset({"fresh_token", "error"})
# Values shorter than this are not searched for in free text: they would only blank out unrelated words.
MIN_SECRET_LENGTH = 4
_SHOWN_NAME = re.compile(r"[A-Za-z0-9_.%-]{1,40}")
_SHOWN_VALUE = re.compile(r"[A-Za-z0-9_.-]{0,64}")
_PAIR = re.compile(r"""([A-Za-z0-9_.%+-]+)=('(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|[^&#\s'"<>,;)]*)""")
_QUOTED_PAIR = re.compile(r"""(['"])([\w.%-]+)\1(\s*:\s*)(['"])(?:\\.|(?!\4).)*\4""")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)*")
_RANDOM = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])")
_SECRET_NAME = re.compile(r"(token|password|passwd|pwd|secret|code|state|nonce|verifier|credentials?|api_?key|"
                          r"authorization|cookie|signature)$")
# The loggers that report on requests without our handlers' say: Tornado's, and asyncio's unretrieved errors.
FOREIGN_LOGGERS = ("tornado.access", "tornado.application", "tornado.general", "asyncio")


def redact_url(uri: str) -> str:
    """`/refresh?token=abc&fresh_token=true` as `/refresh?token=[redacted]&fresh_token=true`."""
    path, has_query, query = uri.partition("?")
    path = _RANDOM.sub(_redact_random, _JWT.sub(REDACTED, path))
    if not has_query:
        return path
    return f"{path}?{'&'.join(_redact_pair(pair) for pair in query.split('&'))}"


def _redact_pair(pair: str) -> str:
    name, has_value, value = pair.partition("=")
    if not has_value:
        return REDACTED if pair else pair  # `?<token>`: a bare value
    shown = name if _SHOWN_NAME.fullmatch(name) else REDACTED
    if visible_name(name) and _SHOWN_VALUE.fullmatch(value):
        return f"{shown}={value}"
    return f"{shown}={REDACTED}"


def visible_name(name: str) -> bool:
    """Whether a parameter's value may be shown, judged on the name as the application reads it."""
    return _read_as(name) in VISIBLE_NAMES


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(_read_as(name)))


def _read_as(name: str) -> str:
    """A name as the application reads it: percent-decoded (repeatedly: `%2574` is `%74` is `t`),
    compatibility-normalised and case-folded."""
    for _ in range(3):
        decoded = urllib.parse.unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return unicodedata.normalize("NFKC", name).casefold()


def scrub(text: str, known: Iterable[str] = (), *, strict: bool = True) -> str:
    """`text` without the `known` values (and their URL-encoded and repr forms) or anything shaped like a secret;
    not `strict`: only JWTs, credentials and the values of secret-named fields."""
    for value in sorted(_spellings(known), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(rf"\1\2{REDACTED}", text)
    text = _PAIR.sub(lambda match: _redact_free_pair(match, strict), text)
    text = _QUOTED_PAIR.sub(lambda match: _redact_quoted_pair(match, strict), text)
    return _RANDOM.sub(_redact_random, text) if strict else text


def _spellings(values: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for value in values:
        if len(value) >= MIN_SECRET_LENGTH:
            found.update({value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
                          urllib.parse.quote(value), repr(value)[1:-1]})
    return found


def _redact_free_pair(match: re.Match[str], strict: bool) -> str:
    """Strict: only a harmless name's plain short value stays. Light: only a secret name's value goes."""
    name, value = match.group(1), match.group(2)
    if strict:
        shown = visible_name(name) and bool(_SHOWN_VALUE.fullmatch(value))
    else:
        shown = visible_name(name) or not _secret_name(name)
    return match.group(0) if shown or not value else f"{name}={REDACTED}"


def _redact_quoted_pair(match: re.Match[str], strict: bool) -> str:
    quote, name, colon, value_quote = match.group(1, 2, 3, 4)
    shown = visible_name(name) or (not strict and not _secret_name(name))
    return match.group(0) if shown else f"{quote}{name}{quote}{colon}{value_quote}{REDACTED}{value_quote}"


def _redact_random(match: re.Match[str]) -> str:
    """Random tokens mix cases and digits; identifiers, hex ids and UUIDs do not, and stay readable."""
    word = match.group(0)
    mixed = any(c.isupper() for c in word) and any(c.islower() for c in word) and any(c.isdigit() for c in word)
    return REDACTED if mixed else word


def safe_traceback(exc: BaseException, known: Iterable[str] = ()) -> str:
    """The exception and its causes as `traceback` prints them, without locals and with every message scrubbed."""
    known = tuple(known)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for position, error in enumerate(reversed(chain)):
        if position:
            caused = error.__cause__ is chain[len(chain) - position]
            parts.append("\nThe above exception was the direct cause of the following exception:\n\n" if caused
                         else "\nDuring handling of the above exception, another exception occurred:\n\n")
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.StackSummary.extract(traceback.walk_tb(error.__traceback__)).format())
        parts.append(_exception_line(error, known))
        for inner in getattr(error, "exceptions", ()):  # an ExceptionGroup's members, one level in
            parts.append("  " + safe_traceback(inner, known).replace("\n", "\n  ") + "\n")
    return "".join(parts).rstrip("\n")


def _exception_line(error: BaseException, known: tuple[str, ...]) -> str:
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    try:
        message = str(error)
    except Exception:  # a __str__ that fails must not take the log line with it
        message = "<unprintable>"
    notes = "".join(f"\n{note}" for note in getattr(error, "__notes__", ()) if isinstance(note, str))
    text = f"{name}: {message}{notes}" if message or notes else name
    return scrub(text, known) + "\n"


def log_safe_exception(logger: logging.Logger, exc: BaseException, message: str, *args: object,
                  known: Iterable[str] = ()) -> None:
    """An ERROR record with `exc` rendered safely as its traceback text, and no live exception attached."""
    if not logger.isEnabledFor(logging.ERROR):
        return
    filename, line, function, _ = logger.findCaller(stacklevel=2)
    record = logger.makeRecord(logger.name, logging.ERROR, filename, line, message, args, None, function)
    record.exc_text = safe_traceback(exc, known)
    logger.handle(record)


class RedactingFilter(logging.Filter):
    """Makes a record safe in place: message scrubbed (`strict`: as free text about a request), a live exception
    replaced by its safe rendering."""

    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.strict = strict

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template, never the arguments
            message = str(record.msg)
        record.msg, record.args = scrub(message, strict=self.strict), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def protect_foreign_loggers() -> None:
    """Put the filter on the loggers our code does not write to itself (idempotent)."""
    for name in FOREIGN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
            logger.addFilter(RedactingFilter())
