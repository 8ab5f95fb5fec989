"""atlassian-python-api's Bitbucket clients without the rest of the package.

`import atlassian` runs the package's `__init__`, which imports every product the library covers
(Confluence brings bs4 and soupsieve, then Jira, Bamboo, ...): about 90 ms of CPU in a run that only
talks to Bitbucket. Registering the package without running its `__init__` lets `atlassian.bitbucket`
and `atlassian.rest_client` import as usual: they import their siblings by module, never through the
package's top-level names. Where the package was imported in full already, nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys


def load_bitbucket_only() -> None:
    """Call before importing `atlassian.bitbucket...`; importing it then loads only what it uses."""
    if "atlassian" in sys.modules:
        return
    spec = importlib.util.find_spec("atlassian")
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the import that follows raises the usual ImportError
    sys.modules["atlassian"] = importlib.util.module_from_spec(spec)
