"""The sandbox's two small parsers: BBQL filters and form bodies."""

from __future__ import annotations

import pytest
import requests

from port_gitops.sandbox.bbql import BBQLError, compile_query
from port_gitops.sandbox.forms import FormError, parse_form

PR = {
    "id": 7,
    "state": "OPEN",
    "title": "Enrich Payments",
    "source": {"branch": {"name": 'port/"odd"'}},
    "destination": {"branch": {"name": "main"}},
    "reviewers": [{"uuid": "{a}"}, {"uuid": "{b}"}],
    "closed_by": None,
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('state = "OPEN"', True),
        ('state="MERGED" OR state="OPEN" AND id=7', True),
        ('(state="MERGED" OR state="OPEN") AND id=8', False),
        ('state="MERGED" OR state="OPEN" and id=8', False),
        ('source.branch.name = "port/\\"odd\\""', True),
        ('title ~ "payments"', True),
        ('title !~ "payments"', False),
        ('destination.branch.name != "main"', False),
        ('reviewers.uuid = "{b}"', True),
        ("closed_by = null", True),
        ("missing.field = null", True),
        ("id > 6 AND id <= 7", True),
        ('id > "x"', False),
    ],
)
def test_bbql(query: str, expected: bool) -> None:
    assert compile_query(query)(PR) is expected


@pytest.mark.parametrize(
    "query",
    [
        'state = "OPEN',
        "state OPEN",
        'state = "a" AND',
        '(state = "a"',
        'state = "a")',
        "= 1",
        "a = b",
    ],
)
def test_bbql_errors(query: str) -> None:
    with pytest.raises(BBQLError):
        compile_query(query)


def test_multipart_as_requests_sends_it() -> None:
    content = b"line\r\n--not-a-boundary\r\n\x00\xff"
    prepared = requests.Request(
        "POST",
        "http://x/",
        data={"message": "m", "branch": "b"},
        files={"dir/port.yml": ("port.yml", content, "text/yaml")},
    ).prepare()
    assert isinstance(prepared.body, bytes)
    parts = parse_form(prepared.headers["Content-Type"], prepared.body)
    assert [(p.name, p.filename, p.data) for p in parts] == [
        ("message", None, b"m"),
        ("branch", None, b"b"),
        ("dir/port.yml", "port.yml", content),
    ]
    assert parts[2].content_type == "text/yaml"


def test_multipart_parameters() -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="a%22b"; filename=""\r\n\r\nx\r\n'
        b'--B\r\nContent-Disposition: attachment; name="run.sh"; filename="run.sh"; x-attributes:"executable"\r\n\r\n#!\r\n'
        b"--B--\r\n"
    )
    first, second = parse_form('multipart/form-data; boundary="B"', body)
    assert (first.name, first.filename, first.data) == ('a"b', "", b"x")
    assert second.params["x-attributes"] == "executable"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--B--\r\n"),
        (
            "multipart/form-data; boundary=B",
            b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx',
        ),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",
        ),
        ("application/json", b"{}"),
        ("", b""),
    ],
)
def test_malformed_forms(content_type: str, body: bytes) -> None:
    with pytest.raises(FormError):
        parse_form(content_type, body)


def test_urlencoded() -> None:
    parts = parse_form(
        "application/x-www-form-urlencoded",
        b"message=hi+there&%2Fport.yml=a%3A+1%0A&empty=",
    )
    assert [(p.name, p.filename, p.data) for p in parts] == [
        ("message", None, b"hi there"),
        ("/port.yml", None, b"a: 1\n"),
        ("empty", None, b""),
    ]
