"""`yaml.safe_load`, parsed by libyaml when PyYAML was built with it (about 9x faster; a run loads six
documents: the trigger, the action's texts, the template, port.yml and the merged port.yml's proof).

Only the parser is C: PyYAML's Python constructor and resolver build the data, so it is the same. A
document libyaml refuses, or whose data cannot be constructed, is loaded again by the pure loader, so
every error, message and mark is exactly `yaml.safe_load`'s.
"""

from __future__ import annotations

import contextlib
from typing import Any

import yaml

_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))


def safe_load(text: str) -> Any:
    if _LIBYAML:
        # Refused or unconstructible: the pure loader below says why, exactly as before.
        with contextlib.suppress(Exception):
            return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)
