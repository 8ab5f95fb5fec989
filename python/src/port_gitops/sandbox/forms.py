"""Form bodies as servers parse them: multipart/form-data (byte-exact) and urlencoded.

Strict on purpose: whether a part carries a `filename` decides, on Bitbucket Cloud's `src`
endpoint, between a commit field and a file — the pitfall a client must get right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qsl

# name="value" (quoted, with \-escapes) or name=token; urllib3 percent-escapes ", CR and LF.
# Bitbucket's own example writes `x-attributes:"executable"`, so ":" separates too.
_PARAM = re.compile(r';\s*([^\s=:;]+)\s*[=:]\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_HTML5_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: Optional[str] = None  # None: a plain field; a string (even ""): a file part
    content_type: Optional[str] = None
    params: dict[str, str] = field(default_factory=dict)  # every Content-Disposition parameter


class FormError(ValueError):
    """The body is not the form its Content-Type announces."""


def parse_form(content_type: str, body: bytes) -> list[FormPart]:
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if media == "application/x-www-form-urlencoded":
        return [
            FormPart(name, value.encode("utf-8"))
            for name, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        ]
    raise FormError(f"expected a form body, got Content-Type {content_type or '(none)'}")


def _header_params(value: str) -> dict[str, str]:
    params = {}
    for name, raw in _PARAM.findall(value):
        text = raw.strip()
        if text.startswith('"'):
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        for escaped, char in _HTML5_ESCAPES.items():
            text = text.replace(escaped, char)
        params[name.lower()] = text
    return params


def _parse_multipart(content_type: str, body: bytes) -> list[FormPart]:
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise FormError("multipart body without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise FormError("multipart body is not terminated by its closing boundary")
    parts = []
    for section in sections[1:-1]:
        head, sep, data = section.partition(b"\r\n\r\n")
        if not sep:
            raise FormError("multipart part without a header block")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = _header_params(";" + disposition.partition(";")[2])
        if "name" not in params:
            raise FormError("multipart part without a name")
        parts.append(
            FormPart(
                name=params["name"],
                data=data,
                filename=params.get("filename"),
                content_type=headers.get("content-type"),
                params=params,
            )
        )
    return parts
