"""port.yml: render the template, merge it into the existing file with a minimal text change, diff it.

`template` fills placeholders after YAML parsing; `merge` decides what changes and proves the result;
`document` and `textedit` locate and edit text by PyYAML marks; `emit` writes values safely.
"""

from __future__ import annotations

from port_gitops.portyml.diff import unified_diff
from port_gitops.portyml.merge import MergeResult, merge
from port_gitops.portyml.template import render_entities

__all__ = ["MergeResult", "merge", "render_entities", "unified_diff"]
