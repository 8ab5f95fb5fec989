"""Port's webhook signature: `x-port-signature: v1,<base64 HMAC-SHA256(client secret, "<ts>.<body>")>`.

The Generic Webhook Trigger's own HMAC check signs the body only, so it cannot verify this format;
the tool does it. Port's docs hash the raw body, its JS samples and agent the compact JSON
re-serialisation: both are tried. Messages say why a check failed, never what was expected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from typing import Callable, List, Optional

from port_gitops.errors import SignatureError

DEFAULT_TOLERANCE = 900.0  # seconds: a build can wait in Jenkins' queue for minutes
_MS_THRESHOLD = 1e12  # a value this large is milliseconds since the epoch


def _candidates(body: bytes) -> List[bytes]:
    found = [body]
    try:
        compact = json.dumps(json.loads(body.decode("utf-8")), separators=(",", ":"), ensure_ascii=False)
    except (UnicodeDecodeError, ValueError, RecursionError):  # the payload's own bounds come later
        return found
    encoded = compact.encode("utf-8")
    return found if encoded == body else [*found, encoded]


def _parse_timestamp(timestamp: Optional[str]) -> float:
    if timestamp is None or not timestamp.strip():
        raise SignatureError("webhook signature rejected: the x-port-timestamp header is missing")
    try:
        value = float(timestamp.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # nan and inf would pass every freshness comparison
        raise SignatureError(
            "webhook signature rejected: x-port-timestamp is malformed; expected epoch seconds"
        )
    return value / 1000.0 if value > _MS_THRESHOLD else value


def _parse_signatures(header: Optional[str]) -> List[bytes]:
    if header is None or not header.strip():
        raise SignatureError("webhook signature rejected: the x-port-signature header is missing")
    found = []
    for part in header.split():  # several "v1,..." entries may be sent during a secret rotation
        version, _, encoded = part.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not found:
        raise SignatureError(
            "webhook signature rejected: x-port-signature is malformed; expected 'v1,<base64>'"
        )
    return found


def verify(
    body: bytes,
    signature: Optional[str],
    timestamp: Optional[str],
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Callable[[], float] = time.time,
) -> None:
    """Raise SignatureError unless `signature` is Port's signature of `body` at `timestamp`."""
    signatures = _parse_signatures(signature)
    sent_at = _parse_timestamp(timestamp)
    age = now() - sent_at
    if abs(age) > tolerance:
        when = "in the future" if age < 0 else "old"
        raise SignatureError(
            f"webhook signature rejected: the timestamp is {abs(int(age))} s {when}, "
            f"beyond the {int(tolerance)} s tolerance"
        )
    ts_text = (timestamp or "").strip().encode("utf-8")
    key = secret.encode("utf-8")
    for candidate in _candidates(body):
        digest = hmac.new(key, ts_text + b"." + candidate, hashlib.sha256).digest()
        if any(hmac.compare_digest(digest, sent) for sent in signatures):
            return
    raise SignatureError(
        "webhook signature rejected: the signature does not match the body (wrong secret or altered payload)"
    )


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """What Port sends; for tests, the sandbox and `port-gitops sandbox` demos."""
    digest = hmac.new(
        secret.encode("utf-8"), timestamp.encode("utf-8") + b"." + body, hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")
