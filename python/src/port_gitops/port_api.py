"""Port's REST API: one access token per run, action-run logs, the final status exactly once.

Errors name Port's machine code (`error`) and the `X-Trace-Id` Port support asks for. Bad credentials
and a synchronized action are configuration problems (UsageError, exit 2); anything else that keeps
Port from hearing us is a PortApiError (exit 4: the outcome is known, Port could not be told).
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional, Sequence
from urllib.parse import quote

import requests
import requests.auth

from port_gitops.endpoint import Endpoint
from port_gitops.errors import InvalidInputError, PortReportError, UsageError
from port_gitops.logsetup import register_secret
from port_gitops.model import run_id_problem
from port_gitops.retry import RetriesExhausted, RetryPolicy

IN_PROGRESS = "IN_PROGRESS"
RUN_EXHAUSTED = "run_exhausted"  # Port's 422 code for a run that has already ended


class PortApiError(PortReportError):
    """Port answered with an error, or could not be reached after all retries (exit 4)."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        trace_id: Optional[str] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.trace_id = trace_id
        super().__init__(message)


class FinishResult(NamedTuple):
    status: str  # the run's status in Port after the call
    already_finished: bool  # Port had finished the run before: this call changed nothing


def _error_details(response: requests.Response) -> tuple[Optional[str], str]:
    """(code, message) from Port's `{"ok": false, "error": ..., "message": ...}`; newer routes nest them."""
    try:
        body = response.json()
    except ValueError:
        return None, response.reason or ""
    if not isinstance(body, dict):
        return None, response.reason or ""
    error, message = body.get("error"), body.get("message")
    if isinstance(error, dict):  # newer routes: {"error": {"name": ..., "message": ...}}
        message = error.get("message") or message
        error = error.get("name")
    return (str(error) if error else None), str(message or response.reason or "")


class PortClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session,
        policy: RetryPolicy,
        url_setting: Optional[str] = None,
    ) -> None:
        """`url_setting` names the setting `base_url` came from, for the message of a failure to connect."""
        if not client_id or not client_secret:
            raise UsageError("PORT_CLIENT_ID and PORT_CLIENT_SECRET must both be set")
        register_secret(client_secret)
        self.base_url = base_url.rstrip("/")
        self.endpoint = Endpoint(self.base_url, url_setting)
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session
        self._policy = policy
        self._token: Optional[str] = None
        self._finished: dict[str, FinishResult] = {}

    # -- the token ---------------------------------------------------------------------------
    def authenticate(self) -> None:
        """Get the run's access token now (a 401 here is exit 2, before anything is written)."""
        self._access_token(refresh=False)

    def _access_token(self, *, refresh: bool) -> str:
        if self._token is None or refresh:
            body = self._send(
                "POST",
                "/v1/auth/access_token",
                what="Port: get an access token",
                idempotent=True,
                json={"clientId": self._client_id, "clientSecret": self._client_secret},
                token=None,
            )
            token = body.get("accessToken")
            if not isinstance(token, str) or not token:
                raise PortApiError("Port: the access-token response carries no accessToken")
            register_secret(token)
            self._token = token
        return self._token

    # -- generic request (also for `setup`: blueprints, actions, entities) ---------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool,
        json: Any = None,
        params: Optional[Mapping[str, str]] = None,
    ) -> dict[str, Any]:
        """Send with the run's token; on a 401 get a fresh token once and send again."""
        for refresh in (False, True):
            try:
                return self._send(
                    method,
                    path,
                    what=what,
                    idempotent=idempotent,
                    json=json,
                    params=params,
                    token=self._access_token(refresh=refresh),
                )
            except PortApiError as exc:
                if exc.status != 401:
                    raise
                if refresh:
                    raise UsageError(
                        f"{what}: Port rejected a fresh access token for PORT_CLIENT_ID (HTTP 401"
                        f"{_trace(exc.trace_id)}); check that the credentials belong to this organization"
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool,
        json: Any,
        token: Optional[str],
        params: Optional[Mapping[str, str]] = None,
    ) -> dict[str, Any]:
        # Always an explicit `auth`: whatever credential sits on a shared session (atlassian-python-api
        # stores Bitbucket's there) must never reach Port.
        auth = _Bearer(token)

        def attempt() -> requests.Response:
            response = self._session.request(
                method,
                self.base_url + path,
                json=json,
                params=params,
                auth=auth,
                headers={"Accept": "application/json"},
            )
            if response.status_code >= 400:
                raise requests.HTTPError(f"HTTP {response.status_code}", response=response)
            return response

        try:
            response = self._policy.call(attempt, what=what, idempotent=idempotent)
        except RetriesExhausted as exc:
            last_response = getattr(exc.last_error, "response", None)
            trace = last_response.headers.get("X-Trace-Id") if last_response is not None else None
            unreachable = self.endpoint.unreachable(exc.last_error)
            message = exc.explained(unreachable) if unreachable else exc.message + _trace(trace)
            raise PortApiError(message, status=exc.status, trace_id=trace) from exc
        except requests.HTTPError as exc:
            raise self._http_error(exc, what, authenticating=token is None) from exc
        except requests.exceptions.SSLError as exc:
            raise UsageError(self.endpoint.tls_failure(what, exc)) from exc
        except requests.RequestException as exc:
            unreachable = self.endpoint.unreachable(exc)
            raise PortApiError(
                f"{what}: {unreachable or f'{self.endpoint.host} is unreachable ({type(exc).__name__})'}"
            ) from exc
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as exc:
            raise PortApiError(f"{what}: HTTP {response.status_code} with a non-JSON body") from exc
        return body if isinstance(body, dict) else {"value": body}

    def _http_error(self, exc: requests.HTTPError, what: str, *, authenticating: bool) -> Exception:
        response = exc.response
        assert response is not None
        status = response.status_code
        code, message = _error_details(response)
        trace = response.headers.get("X-Trace-Id")
        if authenticating and status == 401:
            return UsageError(
                f"Port rejected PORT_CLIENT_ID/PORT_CLIENT_SECRET (HTTP 401{_trace(trace)}); use the "
                "credentials from Port's '...' menu -> Credentials, and PORT_BASE_URL for your region"
            )
        detail = f"{code}: {message}" if code else message
        return PortApiError(
            f"{what}: HTTP {status} {detail}{_trace(trace)}".rstrip(),
            status=status,
            code=code,
            trace_id=trace,
        )

    # -- action runs ---------------------------------------------------------------------------
    def log(self, run_id: str, message: str) -> bool:
        """Add a line to the run's log; False when Port says the run has already ended (not an error:
        it was reported before). Not retried once it may have reached Port: no duplicate lines."""
        try:
            self.request(
                "POST",
                f"{_run_path(run_id)}/logs",
                what=f"Port: log to run {run_id}",
                idempotent=False,
                json={"message": message},
            )
        except PortApiError as exc:
            if exc.status == 422 and exc.code == RUN_EXHAUSTED:
                return False
            raise
        return True

    def get_run(self, run_id: str) -> dict[str, Any]:
        body = self.request("GET", _run_path(run_id), what=f"Port: read run {run_id}", idempotent=True)
        run = body.get("run")
        if not isinstance(run, dict):
            raise PortApiError(f"Port: the answer for run {run_id} carries no run")
        return run

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        label: str,
        links: Sequence[str],
        summary: str,
    ) -> FinishResult:
        """Set the final status once, with the links and summary, in one PATCH: safe to replay (once a
        first attempt has ended the run, the replay meets Port's 422). A run Port already finished (our
        earlier attempt, or someone else) is not an error: the 422 is answered by reading the run."""
        if status not in ("SUCCESS", "FAILURE"):
            raise ValueError(f"status must be SUCCESS or FAILURE, not {status!r}")
        if run_id in self._finished:
            return self._finished[run_id]
        body: dict[str, Any] = {"status": status, "statusLabel": label, "summary": summary}
        if links:
            body["link"] = list(links)
        try:
            answer = self.request(
                "PATCH", _run_path(run_id), what=f"Port: finish run {run_id}", idempotent=True, json=body
            )
            run = answer.get("run")
            now = run.get("status") if isinstance(run, dict) else None
            result = FinishResult(status=str(now or status), already_finished=False)
        except PortApiError as exc:
            if exc.status != 422:
                raise
            if exc.code == "run_synchronized_error":
                raise UsageError(
                    f"Port run {run_id} belongs to a synchronized action, so its status cannot be set by "
                    "the backend: set `synchronized: false` in the action's invocationMethod"
                    + _trace(exc.trace_id)
                ) from exc
            current = self.get_run(run_id).get("status")
            if current in (None, IN_PROGRESS):
                raise
            result = FinishResult(status=str(current), already_finished=True)
        self._finished[run_id] = result
        return result


class _Bearer(requests.auth.AuthBase):
    """`Authorization: Bearer <token>`, or no Authorization at all (the token request itself)."""

    def __init__(self, token: Optional[str]) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _run_path(run_id: str) -> str:
    # The run id comes from the payload: keep it one path segment (no "..", no "/").
    problem = run_id_problem(run_id)
    if problem:
        raise InvalidInputError(problem, field="run_id")
    return f"/v1/actions/runs/{quote(run_id, safe='')}"


def _trace(trace_id: Optional[str]) -> str:
    return f"; X-Trace-Id {trace_id}" if trace_id else ""
