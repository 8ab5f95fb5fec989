"""Values printed the way GWT's Gson (`serializeNulls()`, HTML-safe) and Java print them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from port_gitops.gwt.gson import GsonError, double_to_string, to_json, value_text


def test_compact_with_nulls_and_key_order_kept():
    assert (
        to_json({"b": None, "a": [1, True, False, {}], "c": []}) == '{"b":null,"a":[1,true,false,{}],"c":[]}'
    )


def test_html_safe_escapes_as_in_gwts_own_test():
    url = "https://gravatar/x?s=80&d=identicon"
    assert to_json({"avatar": url}) == '{"avatar":"https://gravatar/x?s\\u003d80\\u0026d\\u003didenticon"}'
    assert to_json("<'>") == '"\\u003c\\u0027\\u003e"'


def test_control_characters_use_short_escapes_or_lowercase_hex():
    assert to_json('\t\b\n\r\f\x01\x1f"\\') == '"\\t\\b\\n\\r\\f\\u0001\\u001f\\"\\\\"'


def test_line_and_paragraph_separators_are_escaped_and_other_unicode_is_not():
    assert to_json("\u2028\u2029é😀") == '"\\u2028\\u2029é😀"'


def test_a_leaf_string_is_never_escaped():
    assert value_text("a=b<c>") == "a=b<c>"
    assert value_text(True) == "true"
    assert value_text(12) == "12"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (1.5, "1.5"),
        (100.0, "100.0"),
        (9999999.0, "9999999.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1e23, "1.0E23"),
        (5e-324, "4.9E-324"),  # a closer two-digit decimal beats the one-digit one (JDK 19+)
        (-0.0, "-0.0"),
        (0.1, "0.1"),
    ],
)
def test_doubles_print_like_java(value: float, text: str):
    assert double_to_string(value) == text


def test_big_decimals_print_like_java():
    assert to_json([Decimal("1.23456789012345678901"), Decimal("1.0E+25"), 12345678901234567890123]) == (
        "[1.23456789012345678901,1.0E+25,12345678901234567890123]"
    )


def test_infinity_is_refused_as_gson_does():
    with pytest.raises(GsonError):
        to_json([float("inf")])
