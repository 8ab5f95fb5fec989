"""Port webhook signatures: valid, tampered, wrong secret, expired, future, ms timestamps, re-spaced JSON."""

from __future__ import annotations

import json

import pytest

from port_gitops.errors import SignatureError
from port_gitops.signature import sign, verify

SECRET = "s3cr$t.*+?[x]"  # regex metacharacters on purpose
NOW = 1_790_000_000.0
BODY = json.dumps(
    {"port_context": {"entity": "payments", "runId": "r_1"}, "type": "backend"}, separators=(",", ":")
).encode()


def check(body: bytes, signature: str | None, ts: str | None, secret: str = SECRET) -> None:
    verify(body, signature, ts, secret, tolerance=900, now=lambda: NOW)


def test_valid_signature_passes() -> None:
    ts = str(int(NOW))
    check(BODY, sign(BODY, ts, SECRET), ts)


def test_millisecond_timestamp_passes() -> None:
    ts = str(int(NOW * 1000))
    check(BODY, sign(BODY, ts, SECRET), ts)


def test_respaced_json_body_matches_the_compact_signature() -> None:
    ts = str(int(NOW))
    signed_compact = sign(BODY, ts, SECRET)
    respaced = json.dumps(json.loads(BODY), indent=2).encode()
    check(respaced, signed_compact, ts)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b, s, t: (b.replace(b"backend", b"frontend"), s, t), "does not match"),
        (lambda b, s, t: (b, sign(b, t, "other-secret"), t), "does not match"),
        (lambda b, s, t: (b, s, str(int(NOW) - 901)), "old"),
        (lambda b, s, t: (b, s, str(int(NOW) + 901)), "in the future"),
        (lambda b, s, t: (b, None, t), "missing"),
        (lambda b, s, t: (b, s, None), "missing"),
        (lambda b, s, t: (b, "v2,abc", t), "malformed"),
        (lambda b, s, t: (b, "v1,!!!", t), "malformed"),
        (lambda b, s, t: (b, s, "yesterday"), "malformed"),
    ],
)
def test_rejections_say_why_never_the_expected_value(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    ts = str(int(NOW))
    good = sign(BODY, ts, SECRET)
    body, signature, timestamp = mutate(BODY, good, ts)
    with pytest.raises(SignatureError) as info:
        check(body, signature, timestamp)
    assert reason in info.value.message
    assert info.value.exit_code == 5
    assert good.split(",", 1)[1] not in info.value.message
    assert SECRET not in info.value.message


def test_stale_signature_replayed_with_new_timestamp_fails() -> None:
    old_ts = str(int(NOW) - 10_000)
    signature = sign(BODY, old_ts, SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        check(BODY, signature, str(int(NOW)))


@pytest.mark.parametrize("ts", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400"])
def test_a_timestamp_that_is_not_a_finite_number_is_malformed(ts: str) -> None:
    # nan compares false with everything, so it passed the freshness check forever (issue 12 D).
    with pytest.raises(SignatureError, match="x-port-timestamp is malformed"):
        check(BODY, sign(BODY, ts, SECRET), ts)
