"""Client libraries' modules without their package's `__init__`.

Some libraries' package `__init__` imports everything they cover: atlassian-python-api's every product
(Confluence brings bs4 and soupsieve, then Jira, Bamboo, ...: about 90 ms of CPU in a run that only talks
to Bitbucket), PyGithub's every class (about 180 modules). Registering the package without running its
`__init__` lets a submodule import as usual when it imports its siblings by module, never through the
package's top-level names; each caller says which submodules it relies on. Where the package was
imported in full already, nothing changes; code that later asks the package for a name of its own
(`from github import Github`) gets the whole package, its `__init__` run then.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def without_package_init(package: str) -> None:
    """Call before importing `package.submodule`; importing it then loads only what it uses."""
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the import that follows raises the usual ImportError
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(name: str) -> Any:
        # A name of the package's own, asked for by code that wants the whole package (`from github
        # import Github` elsewhere in the process): its `__init__` runs after all, then answers as usual.
        del module.__getattr__
        if loader is not None:
            loader.exec_module(module)
        return getattr(module, name)

    module.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules[package] = module
