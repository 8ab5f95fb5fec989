"""Backward-compatibility shims of the Enrich Service action, the only action of the first releases.

Its old data flags (`--domain`, `--type`, `--lifecycle`) and the placeholders of Port's guide
(`{{ service_type }}`, ...) keep working by naming mapping variables of the bundled Enrich Service
mapping. Nothing else in the code knows these names (a test checks it).
"""

from __future__ import annotations

from typing import Mapping

# The guide's placeholders -> the mapping variable each stands for.
GUIDE_PLACEHOLDERS: Mapping[str, str] = {
    "service_identifier": "ENTITY_IDENTIFIER",
    "domain_identifier": "DOMAIN",
    "service_type": "TYPE",
    "service_lifecycle": "LIFECYCLE",
}
# The old data flags of `enrich` and `render` -> (mapping variable, help text).
DATA_FLAGS: Mapping[str, tuple[str, str]] = {
    "domain": ("DOMAIN", "domain identifier (Enrich Service)"),
    "type": ("TYPE", "service type (Enrich Service)"),
    "lifecycle": ("LIFECYCLE", "service lifecycle (Enrich Service)"),
}
# The action the old data flags belong to.
ACTION = "service_enrich_service"
