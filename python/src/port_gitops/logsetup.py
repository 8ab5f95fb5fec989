"""Progress logging on stderr, with every configured secret masked in every record.

Secrets are registered as soon as configuration is read (`register_secret`); the filter then
replaces them in the rendered message, its arguments and exception text, at every level.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Iterable, Optional
from urllib.parse import quote, quote_plus

MASK = "****"
_MASK = MASK
_secrets: set[str] = set()


def register_secret(value: Optional[str]) -> None:
    """Mask `value` from now on, also as it looks once escaped on its way out (JSON, repr, URL).
    Very short values are ignored: masking "a" would garble every line."""
    if value and len(value) >= 4:
        _secrets.update(
            form
            for form in (
                value,
                json.dumps(value)[1:-1],
                repr(value)[1:-1],
                quote(value, safe=""),
                quote_plus(value),
            )
            if len(form) >= 4
        )


def register_secrets(values: Iterable[Optional[str]]) -> None:
    for value in values:
        register_secret(value)


def mask(text: str) -> str:
    # Longest first, so that a secret containing another is masked whole. Plain substring
    # replacement: secrets with regex metacharacters need no escaping.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


class SecretMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = mask(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """One stderr handler for the package; library loggers (atlassian, urllib3) stay at WARNING."""
    logger = logging.getLogger("port_gitops")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("port-gitops: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    # atlassian-python-api and PyGithub log response bodies at DEBUG (PyGithub's include a minted
    # installation token); never let that reach a Jenkins log.
    for noisy in ("atlassian", "urllib3", "github"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
