"""Port's API on loopback: the access token and the action-run endpoints port-gitops reports to.

- POST /v1/auth/access_token {clientId, clientSecret}: the same active token for the same
  credentials until it expires (as Port documents); 401 for wrong credentials.
- GET/PATCH /v1/actions/runs/{id}: PATCH takes status, statusLabel, link, summary, externalRunId,
  each overwriting the last value; a status ends the run. The deprecated `message` key is refused
  here (the spec still lists it) so that nothing new starts depending on it.
- GET/POST /v1/actions/runs/{id}/logs: a `terminationStatus` ends the run.
- Errors are `{"ok": false, "error": code, "message": ...}`: 401 unauthorized, 404 not_found,
  422 invalid_request / run_exhausted (the run has ended) / run_synchronized_error (a synchronized
  run's status is Port's own). Codes the notes mark UNCONFIRMED (401, 429) are plausible guesses:
  clients must branch on status, and on `error` only for the documented 422 codes.
Blueprints, actions and entities (for `setup`, `validate --from-port`): `catalog`, see port_catalog.py.
"""

from __future__ import annotations

import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Optional
from urllib.parse import unquote

from port_gitops.sandbox.codehost import now_iso, same_secret
from port_gitops.sandbox.faults import FaultPlan, RecordedRequest, Recorder
from port_gitops.sandbox.port_catalog import PortCatalog
from port_gitops.sandbox.server import GATEWAY_STATUSES, LoopbackServer, Request, Response, gateway_page

IN_PROGRESS = "IN_PROGRESS"
_STATUSES = ("SUCCESS", "FAILURE")
_PATCH_KEYS = ("status", "statusLabel", "link", "summary", "externalRunId")
_LOG_KEYS = ("message", "terminationStatus", "statusLabel")
_TOKEN_LIFETIME = 10800  # seconds, "An API token is valid for 3 hours"


def port_error(status: int, code: str, message: str) -> Response:
    return Response.json(status, {"ok": False, "error": code, "message": message})


def status_answer(status: int) -> Response:
    """What Port (behind its load balancer) answers with a bare status."""
    phrase = HTTPStatus(status).phrase
    if status in GATEWAY_STATUSES:
        return gateway_page(status)
    codes = {
        401: "unauthorized",
        404: "not_found",
        422: "invalid_request",
        429: "too_many_requests",
        500: "internal_error",
    }
    return port_error(status, codes.get(status, phrase.lower().replace(" ", "_")), phrase)


@dataclass
class _Log:
    id: str
    message: str
    created_at: str


@dataclass
class _Run:
    id: str
    synchronized: bool
    entity: Optional[str]
    status: str = IN_PROGRESS
    values: dict[str, Any] = field(default_factory=dict)  # statusLabel, link, summary, externalRunId
    logs: list[_Log] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    ended_at: Optional[str] = None

    def end(self, status: str) -> None:
        self.status, self.ended_at = status, now_iso()

    def json(self) -> dict[str, Any]:
        run: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "statusLabel": self.values.get("statusLabel"),
            "link": self.values.get("link", []),
            "action": {
                "identifier": "enrich_service",
                "title": "Enrich Service",
                "icon": None,
                "deleted": False,
            },
            "blueprint": {"identifier": "service", "title": "Service", "icon": None, "deleted": False},
            "properties": {},
            "rawProperties": {},
            "source": "UI",
            "requiredApproval": False,
            "approval": None,
            "payload": {
                "type": "WEBHOOK",
                "agent": False,
                "synchronized": self.synchronized,
                "method": "POST",
            },
            "pendingExecution": False,
            "createdBy": "sandbox-user",
            "updatedBy": "sandbox-user",
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.entity is not None:
            run["entity"] = {"identifier": self.entity, "title": self.entity, "icon": None, "deleted": False}
        for key in ("summary", "externalRunId"):
            if key in self.values:
                run[key] = self.values[key]
        if self.ended_at:
            run["endedAt"] = self.ended_at
        return run

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "statusLabel": self.values.get("statusLabel"),
            "link": self.values.get("link"),
            "summary": self.values.get("summary"),
            "externalRunId": self.values.get("externalRunId"),
            "synchronized": self.synchronized,
            "endedAt": self.ended_at,
            "logs": [log.message for log in self.logs],
        }


class PortSandbox:
    """Port on loopback. Credentials in `client_id`/`client_secret`; runs made with `create_run`."""

    def __init__(self) -> None:
        self.client_id = "sandbox-" + secrets.token_hex(8)
        self.client_secret = secrets.token_urlsafe(32)
        self.faults = FaultPlan()
        self.recorder = Recorder()
        self.catalog = PortCatalog()
        self.auto_create_runs = False
        """A convenience for manual use: an unknown run id is created on first use instead of 404."""
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self._server: Optional[LoopbackServer] = None

    def start(self, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self._server = LoopbackServer(
            _PortApi(self), faults=self.faults, recorder=self.recorder, ssl_context=ssl_context
        )

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the sandbox first"
        return self._server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.recorder.requests

    def clear(self) -> None:
        """Forget the recorded requests (armed faults stay: `faults.clear()` removes those)."""
        self.recorder.clear()

    def create_run(self, run_id: str, *, synchronized: bool = False, entity: Optional[str] = None) -> None:
        """An IN_PROGRESS run of the Enrich Service action, as Port makes when a user runs it."""
        with self._lock:
            self._runs[run_id] = _Run(run_id, synchronized, entity)

    def finish_run(self, run_id: str, status: str) -> None:
        """End a run as something else did (an earlier attempt, a person in Port's UI)."""
        with self._lock:
            self._runs[run_id].end(status)

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        """A snapshot: {run id: {status, statusLabel, link, summary, externalRunId, synchronized,
        endedAt, logs: [message, ...]}}."""
        with self._lock:
            return {run_id: run.snapshot() for run_id, run in self._runs.items()}

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (401) until the client fetches a new one."""
        with self._lock:
            self._tokens.clear()

    # --- used by the API --------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> Optional[tuple[str, int]]:
        if not (same_secret(client_id, self.client_id) and same_secret(client_secret, self.client_secret)):
            return None
        now = time.monotonic()
        with self._lock:
            for token, expiry in self._tokens.items():
                if expiry > now:  # one active token per credentials: the same one comes back
                    return token, int(expiry - now)
            token = "eyJ" + secrets.token_urlsafe(48)
            self._tokens[token] = now + _TOKEN_LIFETIME
            return token, _TOKEN_LIFETIME

    def token_valid(self, token: str) -> bool:
        with self._lock:
            return self._tokens.get(token, 0.0) > time.monotonic()

    def with_run(self, run_id: str, action: Callable[[_Run], Response]) -> Response:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None and self.auto_create_runs:
                run = self._runs[run_id] = _Run(run_id, False, None)
            if run is None:
                return port_error(
                    404, "not_found", f"The action run with the identifier {run_id!r} was not found"
                )
            return action(run)


class _PortApi:
    def __init__(self, port: PortSandbox) -> None:
        self.port = port

    def error_response(self, status: int) -> Response:
        return status_answer(status)

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/v1/auth/access_token":
            return self.access_token(request) if request.method == "POST" else _method_not_allowed(request)
        segments = path.split("/")
        is_run = len(segments) in (5, 6) and segments[1:4] == ["v1", "actions", "runs"]
        if not (is_run or self.port.catalog.handles(path)):
            return port_error(404, "not_found", f"Route {request.method}:{request.path} not found")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.port.token_valid(token.strip()):
            return port_error(401, "unauthorized", "The access token is missing, invalid or expired")
        if not is_run:
            return self.port.catalog.handle(request)
        version = request.first("version")
        if version is not None and version not in ("v1", "v2"):
            return port_error(
                422, "invalid_request", "querystring/version must be equal to one of the allowed values"
            )
        run_id = unquote(segments[4])
        routes: dict[tuple[str, bool], Callable[[Request, str], Response]] = {
            ("GET", False): self.get_run,
            ("PATCH", False): self.patch_run,
            ("GET", True): self.get_logs,
            ("POST", True): self.post_log,
        }
        is_logs = len(segments) == 6
        if is_logs and segments[5] != "logs":
            return port_error(404, "not_found", f"Route {request.method}:{request.path} not found")
        handler = routes.get((request.method, is_logs))
        return handler(request, run_id) if handler else _method_not_allowed(request)

    def access_token(self, request: Request) -> Response:
        body = request.json_or_none()
        problem = _schema_problem(
            body, required=("clientId", "clientSecret"), allowed=("clientId", "clientSecret")
        )
        if problem:
            return port_error(422, "invalid_request", problem)
        assert isinstance(body, dict)
        if not all(isinstance(body[key], str) for key in ("clientId", "clientSecret")):
            return port_error(422, "invalid_request", "body/clientId and body/clientSecret must be strings")
        issued = self.port.issue_token(body["clientId"], body["clientSecret"])
        if issued is None:
            return port_error(401, "unauthorized", "The client id or client secret is wrong")
        token, expires_in = issued
        return Response.json(
            200, {"ok": True, "accessToken": token, "expiresIn": expires_in, "tokenType": "Bearer"}
        )

    def get_run(self, request: Request, run_id: str) -> Response:
        return self.port.with_run(run_id, lambda run: Response.json(200, {"ok": True, "run": run.json()}))

    def patch_run(self, request: Request, run_id: str) -> Response:
        body = request.json_or_none() if request.body else {}
        problem = _schema_problem(body, required=(), allowed=_PATCH_KEYS) or _value_problem(body)
        if problem:
            return port_error(422, "invalid_request", problem)
        assert isinstance(body, dict)

        def patch(run: _Run) -> Response:
            refused = _refuse_change(run, terminating="status" in body)
            if refused:
                return refused
            run.values.update({key: body[key] for key in body if key != "status"})
            run.updated_at = now_iso()
            if "status" in body:
                run.end(body["status"])
            return Response.json(200, {"ok": True, "run": run.json()})

        return self.port.with_run(run_id, patch)

    def get_logs(self, request: Request, run_id: str) -> Response:
        try:
            limit, offset = int(request.first("limit") or 50), int(request.first("offset") or 0)
        except ValueError:
            limit, offset = 0, 0
        if not 1 <= limit <= 50 or offset < 0:
            return port_error(
                422, "invalid_request", "querystring/limit must be between 1 and 50, offset >= 0"
            )

        def logs(run: _Run) -> Response:
            entries = [
                {
                    "id": log.id,
                    "runId": run.id,
                    "message": log.message,
                    "createdBy": "sandbox-user",
                    "createdAt": log.created_at,
                }
                for log in run.logs[offset : offset + limit]
            ]
            return Response.json(200, {"ok": True, "runLogs": entries})

        return self.port.with_run(run_id, logs)

    def post_log(self, request: Request, run_id: str) -> Response:
        body = request.json_or_none()
        problem = _schema_problem(body, required=("message",), allowed=_LOG_KEYS) or _value_problem(body)
        if problem:
            return port_error(422, "invalid_request", problem)
        assert isinstance(body, dict)

        def append(run: _Run) -> Response:
            refused = _refuse_change(run, terminating="terminationStatus" in body)
            if refused:
                return refused
            log = _Log("log_" + secrets.token_hex(8), body["message"], now_iso())
            run.logs.append(log)
            run.updated_at = log.created_at
            if "statusLabel" in body:  # a label alone keeps the run going, as on PATCH
                run.values["statusLabel"] = body["statusLabel"]
            if "terminationStatus" in body:
                run.end(body["terminationStatus"])
            run_log = {
                "id": log.id,
                "runId": run.id,
                "message": log.message,
                "createdBy": "sandbox-user",
                "createdAt": log.created_at,
            }
            return Response.json(201, {"ok": True, "runLog": run_log})

        return self.port.with_run(run_id, append)


def _method_not_allowed(request: Request) -> Response:
    return port_error(404, "not_found", f"Route {request.method}:{request.path} not found")


def _refuse_change(run: _Run, *, terminating: bool) -> Optional[Response]:
    """Port's answer when a run can no longer change, or may not be ended by hand; None when it may."""
    if run.status != IN_PROGRESS:
        return port_error(422, "run_exhausted", "Action run already finished execution")
    if run.synchronized and terminating:
        return port_error(
            422, "run_synchronized_error", "Cannot manually change status of a synchronized action run"
        )
    return None


def _schema_problem(body: Any, *, required: tuple[str, ...], allowed: tuple[str, ...]) -> Optional[str]:
    """The first way `body` breaks an `additionalProperties: false` object schema, in ajv's words."""
    if not isinstance(body, dict):
        return "body must be object"
    for key in body:
        if key not in allowed:
            return f"body must NOT have additional properties ({key!r})"
    for key in required:
        if key not in body:
            return f"body must have required property '{key}'"
    return None


def _value_problem(body: dict[str, Any]) -> Optional[str]:
    for key in ("status", "terminationStatus"):
        if key in body and body[key] not in _STATUSES:
            return f"body/{key} must be equal to one of the allowed values (SUCCESS, FAILURE)"
    for key in ("statusLabel", "summary", "externalRunId", "message"):
        if key in body and not isinstance(body[key], str):
            return f"body/{key} must be string"
    link = body.get("link", "")
    if not (
        isinstance(link, str) or (isinstance(link, list) and all(isinstance(item, str) for item in link))
    ):
        return "body/link must be string or array of strings"
    return None
