"""The parts of PyGithub (and PyJWT) the GitHub client uses, loaded without the rest.

`import github` runs the package's `__init__`, which imports every PyGithub class, and `github.Auth`
alone does the same through `InstallationAuthorization` (with PyJWT, cryptography and PyNaCl): about
70 ms of CPU in a run that sends a few requests with a token. The client needs the `Requester`
(PyGithub's request layer, a handful of modules) and a credential it understands: the Requester calls
only `authentication(headers)` and, for its logs, `mask_authentication(headers)` on it (PyGithub 2.4
to 2.10). A token is `Auth.Token` here, doing what PyGithub's does; every other `Auth` name (a GitHub
App's `AppAuth`) and `jwt` are PyGithub's and PyJWT's own, imported on first use, on the App path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, MutableMapping

from port_gitops.scm.libload import without_package_init

without_package_init("github")

from github.Requester import Requester, RequestsResponse  # noqa: E402  (after the package is registered)

__all__ = ["Auth", "Requester", "RequestsResponse", "jwt"]


class _Token:
    """PyGithub's `Auth.Token`: `Authorization: token <token>`, masked as PyGithub masks it."""

    token_type = "token"  # noqa: S105  (the scheme's name, not a secret)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return f"{type(self).__name__}(...)"  # never the token

    def authentication(self, headers: MutableMapping[str, Any]) -> None:
        headers["Authorization"] = f"{self.token_type} {self.token}"

    def mask_authentication(self, headers: MutableMapping[str, Any]) -> None:
        headers["Authorization"] = "token (oauth token removed)"


class _OnFirstUse:
    """A module imported when one of its names is first read (importlib's import lock makes that safe
    from any thread)."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self._module), name)


class _Auth(_OnFirstUse):
    Token = _Token


if TYPE_CHECKING:
    import jwt
    from github import Auth
else:
    Auth = _Auth("github.Auth")
    jwt = _OnFirstUse("jwt")
