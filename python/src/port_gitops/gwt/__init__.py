"""Variables exactly as Jenkins' Generic Webhook Trigger computes them.

    trigger = load_trigger(None)                 # the bundled mapping, or a JSON/YAML file
    resolution = resolve(trigger, body_bytes)    # headers/params optional
    resolution.variables["ENTITY_IDENTIFIER"]

Module map: trigger (the mapping), payload (the body as json-smart reads it), jayway (Jayway's JSONPath,
evaluated by jsonpath-ng), gson (values as GWT prints them), flatten (results into variables), javaregex
(Java regular expressions), resolver (the whole request), shell (safe `NAME=value` output).
"""

from __future__ import annotations

from port_gitops.gwt.resolver import Resolution, render_text, resolve
from port_gitops.gwt.trigger import PostVariable, RequestVariable, Trigger, load_trigger, trigger_from_dict

__all__ = [
    "PostVariable",
    "RequestVariable",
    "Resolution",
    "Trigger",
    "load_trigger",
    "render_text",
    "resolve",
    "trigger_from_dict",
]
