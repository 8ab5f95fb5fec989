"""What the Cloud and Data Center clients share, written once: the checks on names that go into URLs,
the choice of credential, and one request's retries and error classification.

Each flavour keeps what really differs: its URL shapes, its error bodies and the advice in its
messages (see `scm/bitbucket_cloud.py` and `scm/bitbucket_datacenter.py`). Nothing here imports
atlassian-python-api.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, NamedTuple, Optional
from urllib.parse import quote

import requests

from port_gitops.endpoint import Endpoint
from port_gitops.errors import InvalidInputError, UsageError
from port_gitops.logsetup import register_secrets
from port_gitops.retry import RetriesExhausted, RetryPolicy, rate_limited
from port_gitops.scm.errors import ScmConflict, ScmError, ScmNotFound, ScmPathNotAFile, ScmRateLimited

_SHA = re.compile(r"[0-9a-f]{7,64}")
_ERRORS_BY_STATUS: dict[int, Callable[..., ScmError]] = {
    404: ScmNotFound,
    409: ScmConflict,
    429: ScmRateLimited,
}


# -- names that go into URLs ----------------------------------------------------------------------
def valid_segment(value: str, field: str, *, safe: str) -> str:
    """One URL path segment from configuration or payload data: never `.`/`..`, never a `/`.

    `safe` is what the flavour leaves unescaped (Cloud: the braces of a `{uuid}`; Data Center: the
    `~` of a personal project)."""
    if not value or value in (".", "..") or "/" in value:
        raise InvalidInputError(f"{value!r} is not a valid name", field=field)
    return quote(value, safe=safe)


def valid_branch(branch: str) -> str:
    """`branch` unchanged if no `/`-separated part is empty, `.` or `..` (escaping is the caller's)."""
    if not branch or any(part in ("", ".", "..") for part in branch.split("/")):
        raise InvalidInputError(f"{branch!r} is not a valid branch name", field="branch")
    return branch


def valid_sha(commit: str) -> str:
    if not _SHA.fullmatch(commit):
        raise ValueError(f"a commit SHA is required here, not {commit!r}")
    return commit


def valid_file_path(path: str) -> str:
    """`path` inside the repository, without leading or trailing `/`; no part empty, `.` or `..`."""
    parts = path.strip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInputError(f"{path!r} is not a file path inside the repository", field="path")
    return "/".join(parts)


def parent_dirs(path: str) -> list[str]:
    """The directories `path` lies in, nearest first (`a/b/c.yml` -> `a/b`, `a`); none at the top."""
    parts = valid_file_path(path).split("/")
    return ["/".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]


def refuse_a_file_parent(path: str, commit: str, is_file: Callable[[str], Optional[bool]]) -> None:
    """A file absent at `path` may still not be writable: when the nearest parent that exists is a file
    (README/port.yml), writing would replace it. `is_file(parent)` asks the flavour: True a file,
    False something else (a directory), None nothing there."""
    for parent in parent_dirs(path):
        found = is_file(parent)
        if found:
            raise ScmPathNotAFile(path, commit, parent=parent)
        if found is not None:
            return


def kind_is(kind: Optional[str], wanted: str) -> Optional[bool]:
    """For `refuse_a_file_parent`: None when nothing is there (`kind` None), else whether it is `wanted`."""
    return None if kind is None else kind == wanted


# -- credentials ----------------------------------------------------------------------------------
class Credential(NamedTuple):
    auth: dict[str, str]  # keyword arguments of the atlassian-python-api client
    name: str  # the settings that hold it, for messages (never the secret itself)


def choose_credential(
    client: str,
    session: requests.Session,
    *,
    username: Optional[str],
    token: Optional[str],
    access_token: Optional[str],
) -> Credential:
    """An access token if set, else username + token; `client` names the caller in the error."""
    register_secrets([token, access_token])
    if session.auth is not None or "Authorization" in session.headers:
        # atlassian-python-api stores the credential on the session: a session that already
        # carries one belongs to another client, and sharing it would mix credentials.
        raise ValueError(f"{client} needs a session without credentials of its own")
    if access_token:
        return Credential({"token": access_token}, "BITBUCKET_ACCESS_TOKEN")
    if username and token:
        return Credential({"username": username, "password": token}, "BITBUCKET_USERNAME/BITBUCKET_TOKEN")
    raise UsageError("set BITBUCKET_USERNAME + BITBUCKET_TOKEN, or BITBUCKET_ACCESS_TOKEN")


# -- one request, retried by the policy, errors classified ----------------------------------------
class RequestRunner(NamedTuple):
    """Runs a client's requests: retried by `policy`, failures turned into `ScmError`s."""

    policy: RetryPolicy
    endpoint: Endpoint  # the API's URL and the setting that names it, for connection failures
    rate_limit_hint: str  # appended to the message of a 429 that outlasted the retries
    product: str = "Bitbucket"  # the SCM's name at the start of every message

    def run(
        self,
        send: Callable[[], requests.Response],
        *,
        what: str,
        idempotent: bool,
        passthrough: Collection[int],
        refused: Callable[[requests.Response], ScmError],
        transient: Optional[Callable[[BaseException], Optional[str]]] = None,
        read: Optional[bool] = None,
    ) -> requests.Response:
        """Send; statuses in `passthrough` (e.g. the 404 of an "absent" read) come back as answers,
        any other status >= 400 as `refused(response)` (the flavour reads its own error body)."""

        def attempt() -> requests.Response:
            response = send()
            if response.status_code >= 400 and response.status_code not in passthrough:
                raise requests.HTTPError(f"HTTP {response.status_code}", response=response)
            return response

        try:
            return self.policy.call(
                attempt, what=f"{self.product}: {what}", idempotent=idempotent, transient=transient, read=read
            )
        except RetriesExhausted as exc:
            response = getattr(exc.last_error, "response", None)
            limited = isinstance(response, requests.Response) and rate_limited(response)
            cls = ScmRateLimited if limited else ScmError
            hint = self.rate_limit_hint if limited else ""
            unreachable = self.endpoint.unreachable(exc.last_error)
            message = exc.explained(unreachable) if unreachable else exc.message + hint
            raise cls(message, status=exc.status) from exc
        except requests.HTTPError as exc:
            assert exc.response is not None
            raise refused(exc.response) from exc
        except requests.exceptions.SSLError as exc:
            raise UsageError(self.endpoint.tls_failure(f"{self.product}: {what}", exc)) from exc
        except requests.RequestException as exc:
            unreachable = (
                self.endpoint.unreachable(exc) or f"{type(exc).__name__} talking to {self.endpoint.host}"
            )
            raise ScmError(f"{self.product}: {what}: {unreachable}") from exc


def error_for_status(status: int, message: str) -> ScmError:
    """The `ScmError` subclass for a status without a flavour-specific explanation (401, 403 have one)."""
    return _ERRORS_BY_STATUS.get(status, ScmError)(message, status=status)


def json_of(response: requests.Response, what: str, product: str = "Bitbucket") -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ScmError(f"{product}: {what}: HTTP {response.status_code} with a non-JSON body") from exc
