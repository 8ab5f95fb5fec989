"""The body as json-smart (permissive) reads it in Jenkins: what is reproduced, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from port_gitops.errors import EXIT_INVALID_INPUT, InvalidInputError
from port_gitops.gwt.payload import MAX_DEPTH, read_payload


def document(body: bytes) -> object:
    payload = read_payload(body)
    assert payload is not None
    return payload.document


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"user": {"name": "Administrator",},}',
            {"user": {"name": "Administrator"}},
        ),  # GWT's one-leaf.json
        (b"[1,2,]", [1, 2]),
        (b"[,1,,2,,]", [1, 2]),
        (b'{,"a":1,,"b":[,],}', {"a": 1, "b": []}),
        (b'{"s": "a,]}"}', {"s": "a,]}"}),  # commas and brackets inside strings are text
    ],
)
def test_useless_commas_are_skipped_like_json_smart(body: bytes, expected: object):
    assert document(body) == expected


def test_text_is_kept_exactly_as_received():
    body = '{ "a" : [1,2,], "é": "x" }\n'.encode()
    payload = read_payload(body)
    assert payload is not None
    assert payload.text == body.decode()


def test_a_repeated_key_keeps_its_first_position_and_its_last_value():
    assert list(document(b'{"a":1,"b":2,"a":3}').items()) == [("a", 3), ("b", 2)]  # type: ignore[attr-defined]


def test_numbers_keep_their_java_types():
    parsed = document(
        b'{"i": 7, "big": 123456789012345678901234, "d": 1.5, "e": 1E7, "long": 1.234567890123456789}'
    )
    assert parsed == {
        "i": 7,
        "big": 123456789012345678901234,
        "d": 1.5,
        "e": 1e7,
        "long": Decimal("1.234567890123456789"),
    }
    assert isinstance(parsed["e"], float)  # type: ignore[index]
    assert isinstance(parsed["long"], Decimal)  # type: ignore[index]  # longer than 18 characters


def test_del_is_dropped_only_from_strings_with_an_escape():
    assert document(b'["a\\n\x7fb", "c\x7fd"]') == ["a\nb", "c\x7fd"]


def test_surrogate_pairs_are_one_character():
    assert document(b'"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize("body", [None, b"", b"  \r\n\t", b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)])
def test_bodies_jenkins_cannot_parse_resolve_nothing(body: bytes | None):
    assert read_payload(body) is None


def test_nesting_up_to_the_limit_is_fine():
    assert read_payload(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{'a': 1}", "not standard JSON"),  # json-smart would accept single quotes
        (b"{a: b}", "not standard JSON"),  # ... and unquoted words
        (b"[NaN]", "NaN"),
        (b"[01]", "not standard JSON"),
        (b'{"a":1} trailing', "not standard JSON"),
        (b"[1 2]", "not standard JSON"),
        (b'"\xff"', "not UTF-8"),
        (b'"\\ud800"', "surrogate"),
    ],
)
def test_what_json_smart_might_read_differently_is_refused(body: bytes, reason: str):
    with pytest.raises(InvalidInputError) as raised:
        read_payload(body)
    assert raised.value.exit_code == EXIT_INVALID_INPUT
    assert raised.value.message.startswith("payload: ")
    assert reason in raised.value.message
