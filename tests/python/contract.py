"""Contract checks: every request the tool sent, validated against the official OpenAPI documents in
tests/specs (Bitbucket Cloud 2.0, Bitbucket Data Center 9.2 and Port). Reused by the end-to-end tests:

    assert_requests_match_spec(sandbox.bitbucket.requests, flavour="cloud")  # or "datacenter"
    assert_requests_match_spec(sandbox.port.requests, flavour="port")

For each request: the path must match an operation with that method; path and query parameters must
match their schemas (required ones present, undeclared ones refused); the body must match the request
body schema (validated in write mode: read-only properties are refused); operations with security
must carry an Authorization header of the right scheme.

Where a published spec cannot describe the real API, the adaptation is named here, in one place
(see tests/specs/README.md):
- Cloud `POST /src`: the spec models the form fields (message, author, parents, files, branch) as
  *query* parameters and has no request body; the real API wants them as multipart form fields (a
  `branch` in the query string is silently ignored). So any query parameter there is an error, the
  multipart body is parsed here, its metadata parts are checked against those parameter schemas, and
  its file parts (named by repository path, carrying a filename) are checked by hand.
- Cloud bodies: the `pullrequest` and `account` schemas inherit `required: [type]` from the
  discriminator base `object`, while the operation says to send only the elements you set, and real
  clients never send `type`. The base's `required` is dropped before validation.
- Cloud list endpoints: `q`, `sort`, `pagelen`, `page` and `fields` are global (documented in prose
  only), so they are accepted on every GET.
- Cloud `{path}` of `src/{commit}/{path}` and the branch `{name}` of `refs/branches/{name}` may contain
  `/` (the spec gives them no pattern; Cloud reads the rest of the URL).
- Data Center: the spec's path keys are `/api/latest/...` (and `/branch-utils/latest`,
  `/default-reviewers/latest`) relative to the server's `/rest`; clients call `/rest/api/1.0/...`, the
  same API under its version number, on a server that may sit under a context path (/bitbucket). So
  everything before `/rest` is dropped and `1.0` read as `latest`. The spec declares no security on
  any operation (and models no bearer tokens), so credentials are not checked here. Multipart bodies
  (`PUT browse/{path}`) are parsed and their fields checked against the form schema by hand.
- GitHub: GitHub's REST description (Octokit's publication) declares no security at all, so
  credentials are not checked here (the sandbox checks them). `{ref}` of `git/refs/{ref}` and `{path}`
  of `contents/{path}` hold `/` (`heads/port/enrich-x`). `POST /graphql` is not part of the REST
  description (GitHub publishes no OpenAPI for it): it is checked by hand (a JSON `{"query", "variables"}`
  with a bearer/token credential, the query being one of the two the client sends, with the field and
  argument names of GitHub's public GraphQL schema: the branch tips; the read-ahead of the repository,
  its default branch, the tips, the file at each tip and the open pull requests).
- Port: the YAML has unquoted `=` scalars (PyYAML's YAML 1.1 `value` tag) and `\\p{L}` in patterns,
  which Python's `re` lacks; the first is loaded as a plain string, the second replaced by `\\w`.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Protocol
from urllib.parse import unquote

import yaml
from conftest import require_spec
from openapi_schema_validator import OAS30WriteValidator, OAS31Validator

CLOUD_GLOBAL_QUERY = frozenset({"q", "sort", "pagelen", "page", "fields"})
CLOUD_SRC_POST = ("POST", "/repositories/{workspace}/{repo_slug}/src")
SLASHED_PARAMS = {
    "cloud": frozenset({"path", "name"}),
    "datacenter": frozenset({"path"}),
    "port": frozenset(),
    "github": frozenset({"path", "ref"}),
}
GRAPHQL_TIPS = re.compile(
    r"query\(\$owner: String!, \$name: String!(, \$q\d+: String!)+\) "
    r"\{ repository\(owner: \$owner, name: \$name\) \{ (b\d+: ref\(qualifiedName: \$q\d+\) \{ target \{ oid"
    r" \.\.\. on Commit \{ tree \{ oid \} \} \} \} ?)+\} \}"
)
_GRAPHQL_TIP = (
    r"target \{ oid \.\.\. on Commit \{ tree \{ oid \} parents\(first: \d+\) \{ totalCount nodes \{ oid \} \}"
    r" file\(path: \$path\) \{ type mode oid object \{ \.\.\. on Blob \{ oid text byteSize isBinary isTruncated \}"
    r" \} \} \} \}"
)
GRAPHQL_READ_AHEAD = re.compile(
    r"query\(\$owner: String!, \$name: String!, \$path: String!(, \$q\d+: String!)*, \$head: String!\) "
    r"\{ repository\(owner: \$owner, name: \$name\) \{ nameWithOwner url "
    rf"(defaultBranchRef \{{ name {_GRAPHQL_TIP} \}} )?(b\d+: ref\(qualifiedName: \$q\d+\) \{{ {_GRAPHQL_TIP} \}} )*"
    r"pullRequests\(headRefName: \$head, states: \[OPEN\], first: \d+\) \{ nodes \{ number url title body"
    r" headRefName baseRefName headRepository \{ nameWithOwner \} reviewRequests\(first: \d+\)"
    r" \{ nodes \{ requestedReviewer \{ \.\.\. on User \{ login \} \} \} \} \} \} \} \}"
)
SHA_PATTERN = re.compile(r"[0-9a-f]{7,40}")
AUTHOR_PATTERN = re.compile(r"[^<>]+ <[^<>@\s]+@[^<>\s]+>")


class Recorded(Protocol):
    """What the sandbox records (port_gitops.sandbox's RecordedRequest has these fields)."""

    method: str
    path: str  # as sent (not percent-decoded), without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Spec:
    flavour: str
    prefix: str  # what the client puts before the spec's path keys
    document: dict[str, Any]
    routes: tuple[Route, ...]
    validator: Any
    auth_schemes: tuple[str, ...]


class _PortLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Port's YAML: `operator: =` is a plain string, not PyYAML's YAML 1.1 `value` tag."""


_PortLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _replace_unicode_classes(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("\\p{L}", "\\w")
                if k == "pattern" and isinstance(v, str)
                else _replace_unicode_classes(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_replace_unicode_classes(v) for v in node]
    return node


def _deref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A `{"$ref": "#/components/..."}` parameter (GitHub's spec shares them) as its definition."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _routes(document: dict[str, Any], slashed: frozenset[str]) -> tuple[Route, ...]:
    routes = []
    for template, item in document["paths"].items():
        regex = re.sub(
            r"\\\{(\w+)\\\}",
            lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(1) in slashed else '[^/]+'})",
            re.escape(template),
        )
        for method, operation in item.items():
            if method in (
                "parameters",
                "summary",
                "description",
                "servers",
            ) or not isinstance(operation, dict):
                continue
            declared = [
                _deref(document, p)
                for p in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]
            ]
            params = {(p["name"], p["in"]): p for p in declared}
            routes.append(
                Route(
                    method.upper(),
                    template,
                    re.compile(f"^{regex}$"),
                    operation,
                    tuple(params.values()),
                )
            )
    # Most specific first: more literal characters, fewer parameters.
    routes.sort(key=lambda r: (-len(re.sub(r"\{\w+\}", "", r.template)), r.template.count("{")))
    return tuple(routes)


@functools.cache
def load_spec(flavour: str) -> Spec:
    if flavour == "cloud":
        document = json.loads(require_spec("bitbucket-cloud.openapi.json").read_text("utf-8"))
        # Quirk: the discriminator base requires `type`, which clients never send (see module docstring).
        document["components"]["schemas"]["object"].pop("required", None)
        return Spec(
            "cloud",
            "/2.0",
            document,
            _routes(document, SLASHED_PARAMS["cloud"]),
            OAS30WriteValidator,
            ("basic ", "bearer "),
        )
    if flavour == "datacenter":
        document = json.loads(require_spec("bitbucket-datacenter.openapi.json").read_text("utf-8"))
        return Spec(
            "datacenter",
            "/rest",
            document,
            _routes(document, SLASHED_PARAMS["datacenter"]),
            OAS30WriteValidator,
            ("basic ", "bearer "),
        )
    if flavour == "port":
        with require_spec("port.openapi.yaml").open("rb") as handle:
            document = _replace_unicode_classes(yaml.load(handle, Loader=_PortLoader))
        return Spec(
            "port",
            "",
            document,
            _routes(document, SLASHED_PARAMS["port"]),
            OAS31Validator,
            ("bearer ",),
        )
    if flavour == "github":
        document = json.loads(require_spec("github.openapi.json").read_text("utf-8"))
        return Spec(
            "github",
            "",
            document,
            _routes(document, SLASHED_PARAMS["github"]),
            OAS30WriteValidator,
            ("bearer ", "token "),
        )
    raise ValueError(f"unknown flavour {flavour!r}: use 'cloud', 'datacenter', 'github' or 'port'")


def _schema_errors(spec: Spec, instance: Any, schema: Mapping[str, Any]) -> list[str]:
    rooted = {
        **schema,
        "components": spec.document.get("components", {}),
    }  # local $refs resolve here
    validator = spec.validator(rooted)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(value)'}: {e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    ]


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """Query/path strings typed as their schema says, so the schema can check them."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


def _datacenter_path(path: str) -> str:
    """Quirk: drop the context path, and read `/rest/{root}/1.0/` as the spec's `/rest/{root}/latest/`."""
    at = path.find("/rest/")
    return re.sub(r"^/rest/([\w-]+)/1\.0/", r"/rest/\1/latest/", path[at:]) if at >= 0 else path


def _find_route(spec: Spec, method: str, path: str) -> tuple[Optional[Route], dict[str, str], list[str]]:
    if spec.flavour == "datacenter":
        path = _datacenter_path(path)
    if not path.startswith(spec.prefix + "/"):
        return None, {}, [f"not under the API prefix {spec.prefix or '/'}"]
    bare = path[len(spec.prefix) :]
    matches = [(r, m) for r in spec.routes if (m := r.pattern.match(bare))]
    if not matches:
        return None, {}, ["no operation in the spec has this path"]
    for route, match in matches:
        if route.method == method:
            return route, {k: unquote(v) for k, v in match.groupdict().items()}, []
    allowed = sorted({r.method for r, _ in matches if r.template == matches[0][0].template})
    return (
        None,
        {},
        [f"{matches[0][0].template} allows {', '.join(allowed)}, not {method}"],
    )


def _parameter_problems(
    spec: Spec, route: Route, path_params: dict[str, str], request: Recorded
) -> list[str]:
    problems = []
    declared = {(p["name"], p["in"]): p for p in route.parameters}
    for name, value in path_params.items():
        param = declared.get((name, "path"))
        if param is None:
            problems.append(f"path parameter {name} is not declared")
            continue
        problems += [
            f"path {name}: {e}"
            for e in _schema_errors(spec, _coerce(value, param.get("schema", {})), param.get("schema", {}))
        ]
    if (route.method, route.template) == CLOUD_SRC_POST and request.query:
        # Quirk: modelled as query parameters, but only honoured as form fields.
        return [
            *problems,
            f"form fields sent in the query string (ignored by Bitbucket): {sorted(request.query)}",
        ]
    for name, values in request.query.items():
        param = declared.get((name, "query"))
        if param is None:
            if spec.flavour == "cloud" and route.method == "GET" and name in CLOUD_GLOBAL_QUERY:
                continue
            problems.append(f"query parameter {name!r} is not declared for this operation")
            continue
        for value in values:
            schema = param.get("schema", {})
            problems += [f"query {name}: {e}" for e in _schema_errors(spec, _coerce(value, schema), schema)]
    for (name, where), param in declared.items():
        if where == "query" and param.get("required") and name not in request.query:
            problems.append(f"required query parameter {name!r} is missing")
    return problems


def _auth_problems(spec: Spec, route: Route, headers: Mapping[str, str]) -> list[str]:
    security = route.operation.get("security", spec.document.get("security"))
    if not security:
        return []
    value = headers.get("authorization", "")
    if value.lower().startswith(spec.auth_schemes):
        return []
    got = "absent" if not value else f"not {'/'.join(s.strip() for s in spec.auth_schemes)}"
    return [f"the operation requires authentication; Authorization is {got}"]


def _multipart_parts(content_type: str, body: bytes) -> list[tuple[str, Optional[str], bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        parts.append(
            (
                str(name or ""),
                None if filename is None else str(filename),
                part.get_payload(decode=True) or b"",
            )
        )
    return parts


def _src_commit_problems(spec: Spec, route: Route, request: Recorded) -> list[str]:
    """Cloud POST /src: the form the real API reads (see the module docstring)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return [f"a commit must be multipart/form-data (Content-Type {content_type!r})"]
    fields = {p["name"]: p.get("schema", {}) for p in route.parameters if p["in"] == "query"}
    problems, files, seen = [], [], set()
    for name, filename, value in _multipart_parts(content_type, request.body):
        if filename is None:  # metadata: no filename in Content-Disposition
            if name not in fields:
                problems.append(
                    f"form field {name!r} is neither metadata nor a file (a file part needs a filename)"
                )
                continue
            if name in seen and name != "files":
                problems.append(f"form field {name!r} repeated")
            seen.add(name)
            text = value.decode("utf-8")
            problems += [f"form field {name}: {e}" for e in _schema_errors(spec, text, fields[name])]
            if name == "parents" and not SHA_PATTERN.fullmatch(text):
                problems.append(f"parents must be one commit SHA, not {text!r}")
            if name == "author" and not AUTHOR_PATTERN.fullmatch(text):
                problems.append(f"author must be 'Name <email>', not {text!r}")
        else:
            segments = name.strip("/").split("/")
            if any(s in ("", ".", "..") for s in segments):
                problems.append(f"file part named {name!r} is not a repository path")
            if name in fields:  # requests' files= gives every part a filename: metadata sent as files
                problems.append(f"file part named like the metadata field {name!r} (it would commit a file)")
            files.append(name)
    if not files and not {"branch", "parents"} <= seen:
        problems.append("a commit carries no file part")
    return problems


def _form_problems(spec: Spec, request: Recorded, schema: Mapping[str, Any]) -> list[str]:
    """A multipart body: each field named in the form schema, once, and the fields valid against it."""
    ref = schema.get("$ref", "")
    form = spec.document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema
    names = set(form.get("properties", {}))
    parts = _multipart_parts(request.headers.get("content-type", ""), request.body)
    problems = [f"form field {name!r} is not in the spec's form" for name, _, _ in parts if name not in names]
    seen = [name for name, _, _ in parts]
    problems += [f"form field {name!r} repeated" for name in sorted({n for n in seen if seen.count(n) > 1})]
    instance = {name: value.decode("utf-8", "replace") for name, _, value in parts}
    return problems + [f"form: {e}" for e in _schema_errors(spec, instance, schema)]


def _body_problems(spec: Spec, route: Route, request: Recorded) -> list[str]:
    if (route.method, route.template) == CLOUD_SRC_POST:
        return _src_commit_problems(spec, route, request)
    body_spec = route.operation.get("requestBody")
    if body_spec is None:
        return [f"the operation takes no body, got {len(request.body)} bytes"] if request.body else []
    if not request.body:
        return ["the request body is required"] if body_spec.get("required") else []
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    media = body_spec.get("content", {}).get(content_type)
    if media is None:
        return [f"Content-Type {content_type!r} is not one of {sorted(body_spec.get('content', {}))}"]
    if content_type == "multipart/form-data":
        return _form_problems(spec, request, media.get("schema", {}))
    if content_type != "application/json":
        return []
    try:
        instance = json.loads(request.body.decode("utf-8"))
    except ValueError as exc:
        return [f"body is not JSON: {exc}"]
    return [f"body: {e}" for e in _schema_errors(spec, instance, media.get("schema", {}))]


def _graphql_problems(request: Recorded) -> list[str]:
    """GitHub's `POST /graphql`, outside the REST description (see the module docstring)."""
    problems = []
    if request.method.upper() != "POST":
        problems.append(f"GraphQL takes POST, not {request.method}")
    if not request.headers.get("authorization", "").lower().startswith(("bearer ", "token ")):
        problems.append("GraphQL requires authentication; Authorization is absent or of another scheme")
    try:
        body = json.loads(request.body.decode("utf-8"))
    except ValueError as exc:
        return [*problems, f"body is not JSON: {exc}"]
    if not isinstance(body, dict) or set(body) != {"query", "variables"}:
        return [*problems, 'body must be {"query", "variables"}']
    query = " ".join(str(body["query"]).split())
    if not GRAPHQL_TIPS.fullmatch(query) and not GRAPHQL_READ_AHEAD.fullmatch(query):
        problems.append("neither the branch-tips query nor the read-ahead query")
    variables = body["variables"]
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        problems.append("variables must be strings")
    elif any(not v.startswith("refs/heads/") for k, v in variables.items() if re.fullmatch(r"q\d+", k)):
        problems.append("each $qN must be a qualified branch name (refs/heads/...)")
    return problems


def request_problems(request: Recorded, flavour: str) -> list[str]:
    """Everything wrong with one request, as readable lines (empty when it matches the spec)."""
    if flavour == "github" and request.path == "/graphql":
        return _graphql_problems(request)
    spec = load_spec(flavour)
    route, path_params, problems = _find_route(spec, request.method.upper(), request.path)
    if route is None:
        return problems
    return [
        *_parameter_problems(spec, route, path_params, request),
        *_auth_problems(spec, route, request.headers),
        *_body_problems(spec, route, request),
    ]


def response_problems(flavour: str, method: str, template: str, status: int, body: Any) -> list[str]:
    """What in a JSON answer breaks the response schema of the operation (METHOD + spec path key)."""
    spec = load_spec(flavour)
    responses = spec.document["paths"][template][method.lower()]["responses"]
    return _schema_errors(spec, body, responses[str(status)]["content"]["application/json"]["schema"])


def operations(requests: Iterable[Recorded], flavour: str) -> list[str]:
    """The spec operations ("METHOD /template") the requests used, in order."""
    spec = load_spec(flavour)
    found = []
    for request in requests:
        if flavour == "github" and request.path == "/graphql":
            found.append(f"{request.method.upper()} /graphql")
            continue
        route, _, _ = _find_route(spec, request.method.upper(), request.path)
        found.append(f"{request.method.upper()} {route.template if route else '?'}")
    return found


def assert_requests_match_spec(recorded_requests: Iterable[Recorded], flavour: str = "cloud") -> None:
    """Fail with one line per problem unless every recorded request matches the spec ("cloud",
    "datacenter", "github" or "port")."""
    requests = list(recorded_requests)
    assert requests, f"no {flavour} requests were recorded: nothing to check"
    problems = [
        f"{r.method} {r.path}: {problem}" for r in requests for problem in request_problems(r, flavour)
    ]
    assert not problems, f"{len(problems)} request(s) do not match the {flavour} spec:\n" + "\n".join(
        problems
    )
