"""GitHub's GraphQL API in the sandbox (POST /graphql): the part of GitHub's schema port-gitops reads,
answered from the git store and the pull requests, with GitHub's shapes and error shapes.

The query language is parsed for real (one operation with variables, aliases, arguments, nested
selections and inline fragments; no named fragments or directives), the whole document is checked
against the schema below before anything runs, as GitHub does (an unknown field, argument, type
condition or variable: `errors` only, no `data`, HTTP 200), then executed. Runtime errors are
GitHub's: a repository the token cannot see is `data.repository: null` plus an error of type
NOT_FOUND at ["repository"]; `Commit.file(path:)` with nothing at the path is null plus a NOT_FOUND
error at its path ("Could not resolve file for path ..."), a missing `ref` is a plain null.

Fidelity notes: `Blob.text` is the text as GitHub hands it out: null for a binary blob (a NUL byte in
its first 8000 bytes, git's own test), invalid UTF-8 decoded with replacement characters (GitHub
transcodes what it takes for another encoding: not the stored bytes either), and cut at
TEXT_LIMIT bytes with `isTruncated: true`. A client that needs the exact bytes must check them
(`byteSize`, the blob's `oid`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from port_gitops.sandbox.codehost import DECLINED, MERGED, OPEN, HostedRepository, PullRequest

if TYPE_CHECKING:
    from port_gitops.sandbox.github import GitHubSandbox

TEXT_LIMIT = 512 * 1024
_TOKEN = re.compile(
    r"(?P<skip>[\s,\ufeff]+|#[^\n]*)|(?P<punct>\.\.\.|[!$():=@\[\]{}|])|(?P<name>[_A-Za-z][_0-9A-Za-z]*)"
    r"|(?P<int>-?\d+)|(?P<str>\"(?:[^\"\\\n]|\\.)*\")"
)
_PUNCT_NAMES = {
    "{": "LCURLY", "}": "RCURLY", "(": "LPAREN", ")": "RPAREN", "[": "LBRACKET", "]": "RBRACKET",
    ":": "COLON", "!": "BANG", "$": "VAR_SIGN", "...": "ELLIPSIS", "=": "EQUALS", "@": "DIR_SIGN",
    "|": "PIPE",
}  # fmt: skip


class GraphQLSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line, self.column = line, column


@dataclass
class Token:
    kind: str  # punct, name, int, str, end
    text: str
    line: int
    column: int


@dataclass
class Variable:
    name: str


@dataclass
class Enum:
    name: str


@dataclass
class Selection:
    alias: str
    name: str
    args: dict[str, Any]
    selections: list[Union[Selection, Fragment]]
    line: int
    column: int


@dataclass
class Fragment:
    on: str
    selections: list[Union[Selection, Fragment]]
    line: int
    column: int


@dataclass
class Operation:
    variables: dict[str, str]  # name -> type as written ("String!")
    selections: list[Union[Selection, Fragment]]


def _tokens(text: str) -> list[Token]:
    found, pos, line, start = [], 0, 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise GraphQLSyntaxError(
                f'Parse error on "{text[pos]}" (error) at [{line}, {pos - start + 1}]', line, pos - start + 1
            )
        kind = match.lastgroup or "skip"
        if kind != "skip":
            found.append(Token(kind, match.group(), line, pos - start + 1))
        for offset, char in enumerate(match.group()):
            if char == "\n":
                line, start = line + 1, pos + offset + 1
        pos = match.end()
    found.append(Token("end", "", line, pos - start + 1))
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self, kind: str, text: Optional[str] = None) -> Token:
        token = self.peek()
        if token.kind != kind or (text is not None and token.text != text):
            name = _PUNCT_NAMES.get(token.text, token.kind.upper()) if token.kind != "end" else "end of file"
            raise GraphQLSyntaxError(
                f'Parse error on "{token.text}" ({name}) at [{token.line}, {token.column}]',
                token.line,
                token.column,
            )
        self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind in ("punct", "name") and token.text == text

    def document(self) -> Operation:
        variables: dict[str, str] = {}
        if self.at("query"):
            self.take("name")
            if self.peek().kind == "name":
                self.take("name")
            if self.at("("):
                self.take("punct", "(")
                while not self.at(")"):
                    self.take("punct", "$")
                    name = self.take("name").text
                    self.take("punct", ":")
                    variables[name] = self.type_ref()
                    if self.at("="):
                        raise GraphQLSyntaxError("The sandbox takes no variable defaults", 1, 1)
                self.take("punct", ")")
        selections = self.selection_set()
        self.take("end")
        return Operation(variables, selections)

    def type_ref(self) -> str:
        if self.at("["):
            self.take("punct", "[")
            inner = self.type_ref()
            self.take("punct", "]")
            text = f"[{inner}]"
        else:
            text = self.take("name").text
        if self.at("!"):
            self.take("punct", "!")
            text += "!"
        return text

    def selection_set(self) -> list[Union[Selection, Fragment]]:
        self.take("punct", "{")
        selections: list[Union[Selection, Fragment]] = []
        while not self.at("}"):
            selections.append(self.selection())
        self.take("punct", "}")
        if not selections:
            raise GraphQLSyntaxError("Parse error: an empty selection set", 1, 1)
        return selections

    def selection(self) -> Union[Selection, Fragment]:
        if self.at("..."):
            start = self.take("punct", "...")
            self.take("name", "on")
            on = self.take("name").text
            return Fragment(on, self.selection_set(), start.line, start.column)
        first = self.take("name")
        alias = name = first.text
        if self.at(":"):
            self.take("punct", ":")
            name = self.take("name").text
        args: dict[str, Any] = {}
        if self.at("("):
            self.take("punct", "(")
            while not self.at(")"):
                arg = self.take("name").text
                self.take("punct", ":")
                args[arg] = self.value()
            self.take("punct", ")")
        selections = self.selection_set() if self.at("{") else []
        return Selection(alias, name, args, selections, first.line, first.column)

    def value(self) -> Any:
        token = self.peek()
        if token.kind == "punct" and token.text == "$":
            self.take("punct", "$")
            return Variable(self.take("name").text)
        if token.kind == "punct" and token.text == "[":
            self.take("punct", "[")
            items = []
            while not self.at("]"):
                items.append(self.value())
            self.take("punct", "]")
            return items
        if token.kind == "str":
            self.pos += 1
            return json.loads(token.text)
        if token.kind == "int":
            self.pos += 1
            return int(token.text)
        name = self.take("name").text
        return {"true": True, "false": False, "null": None}.get(name, Enum(name))


def parse(text: str) -> Operation:
    return _Parser(text).document()


# --- the schema: type -> field -> (type of the value, arguments it takes: name -> type) -------------
_SCALARS = {"String", "Int", "Boolean", "URI", "GitObjectID", "HTML"}
_INTERFACES = {"GitObject": {"Commit", "Tree", "Blob"}, "RequestedReviewer": {"User", "Team"}}
_SCHEMA: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "Query": {"repository": ("Repository", {"owner": "String!", "name": "String!"})},
    "Repository": {
        "name": ("String", {}),
        "nameWithOwner": ("String", {}),
        "url": ("URI", {}),
        "defaultBranchRef": ("Ref", {}),
        "ref": ("Ref", {"qualifiedName": "String!"}),
        "pullRequests": (
            "PullRequestConnection",
            {
                "headRefName": "String",
                "baseRefName": "String",
                "states": "[PullRequestState!]",
                "first": "Int",
            },
        ),
    },
    "Ref": {"name": ("String", {}), "prefix": ("String", {}), "target": ("GitObject", {})},
    "GitObject": {"oid": ("GitObjectID", {})},
    "Commit": {
        "oid": ("GitObjectID", {}),
        "tree": ("Tree", {}),
        "parents": ("CommitConnection", {"first": "Int"}),
        "file": ("TreeEntry", {"path": "String!"}),
    },
    "Tree": {"oid": ("GitObjectID", {})},
    "Blob": {
        "oid": ("GitObjectID", {}),
        "text": ("String", {}),
        "byteSize": ("Int", {}),
        "isBinary": ("Boolean", {}),
        "isTruncated": ("Boolean", {}),
    },
    "TreeEntry": {
        "name": ("String", {}),
        "path": ("String", {}),
        "type": ("String", {}),
        "mode": ("Int", {}),
        "oid": ("GitObjectID", {}),
        "object": ("GitObject", {}),
    },
    "CommitConnection": {"totalCount": ("Int", {}), "nodes": ("[Commit]", {})},
    "PullRequestConnection": {"totalCount": ("Int", {}), "nodes": ("[PullRequest]", {})},
    "PullRequest": {
        "number": ("Int", {}),
        "url": ("URI", {}),
        "title": ("String", {}),
        "body": ("String", {}),
        "state": ("String", {}),
        "isDraft": ("Boolean", {}),
        "headRefName": ("String", {}),
        "baseRefName": ("String", {}),
        "headRepository": ("Repository", {}),
        "reviewRequests": ("ReviewRequestConnection", {"first": "Int"}),
    },
    "ReviewRequestConnection": {"nodes": ("[ReviewRequest]", {})},
    "ReviewRequest": {"requestedReviewer": ("RequestedReviewer", {})},
    "RequestedReviewer": {},
    "User": {"login": ("String", {})},
    "Team": {"slug": ("String", {})},
}
_PR_STATES = {"OPEN", "CLOSED", "MERGED"}


def _error(message: str, at: Union[Selection, Fragment, None], **more: Any) -> dict[str, Any]:
    found: dict[str, Any] = dict(more)
    if at is not None:
        found["locations"] = [{"line": at.line, "column": at.column}]
    found["message"] = message
    return found


def _validate(operation: Operation, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """GitHub's static checks, before anything runs: each problem is one error."""
    problems: list[dict[str, Any]] = []
    used: set[str] = set()

    def check_value(value: Any, expected: str, at: Selection) -> None:
        if isinstance(value, Variable):
            used.add(value.name)
            if value.name not in operation.variables:
                problems.append(
                    _error(f"Variable ${value.name} is used by anonymous query but not declared", at)
                )
        elif isinstance(value, list):
            for item in value:
                check_value(item, expected.strip("[]!"), at)
        elif (
            isinstance(value, Enum)
            and expected.strip("[]!") == "PullRequestState"
            and value.name not in _PR_STATES
        ):
            problems.append(
                _error(f"Argument 'states' on Field '{at.name}' has an invalid value ({value.name}).", at)
            )

    def walk(type_name: str, selections: list[Union[Selection, Fragment]], path: list[str]) -> None:
        for item in selections:
            if isinstance(item, Fragment):
                possible = _INTERFACES.get(type_name, {type_name})
                if item.on not in _SCHEMA:
                    problems.append(
                        _error(f"No such type {item.on}, so it can't be a fragment condition", item)
                    )
                elif item.on not in possible:
                    problems.append(
                        _error(
                            f"Fragment on {item.on} can't be spread inside {type_name}",
                            item,
                            path=[*path, f"... on {item.on}"],
                        )
                    )
                else:
                    walk(item.on, item.selections, [*path, f"... on {item.on}"])
                continue
            spec = _SCHEMA[type_name].get(item.name)
            where = [*path, item.alias]
            if spec is None:
                problems.append(
                    _error(
                        f"Field '{item.name}' doesn't exist on type '{type_name}'",
                        item,
                        path=where,
                        extensions={"code": "undefinedField", "typeName": type_name, "fieldName": item.name},
                    )
                )
                continue
            result, arguments = spec
            for arg, value in item.args.items():
                if arg not in arguments:
                    problems.append(
                        _error(
                            f"Field '{item.name}' doesn't accept argument '{arg}'",
                            item,
                            path=[*where, arg],
                            extensions={
                                "code": "argumentNotAccepted",
                                "name": item.name,
                                "argumentName": arg,
                            },
                        )
                    )
                else:
                    check_value(value, arguments[arg], item)
            for arg, wanted in arguments.items():
                if wanted.endswith("!") and arg not in item.args:
                    problems.append(
                        _error(
                            f"Field '{item.name}' is missing required arguments: {arg}",
                            item,
                            path=where,
                            extensions={"code": "missingRequiredArguments", "arguments": arg},
                        )
                    )
            inner = result.strip("[]")
            if inner in _SCALARS:
                if item.selections:
                    problems.append(
                        _error(f"Selections can't be made on scalars (field '{item.name}')", item)
                    )
            elif not item.selections:
                problems.append(
                    _error(
                        f"Field must have selections (field '{item.name}' returns {inner} but has none)", item
                    )
                )
            else:
                walk(inner, item.selections, where)

    walk("Query", operation.selections, ["query"])
    for name in operation.variables:
        if name not in used:
            problems.append(_error(f"Variable ${name} is declared by anonymous query but not used", None))
    for name, wanted in operation.variables.items():
        if wanted.endswith("!") and variables.get(name) is None:
            problems.append(
                _error(
                    f"Variable ${name} of type {wanted} was provided invalid value",
                    None,
                    extensions={
                        "value": None,
                        "problems": [{"path": [], "explanation": "Expected value to not be null"}],
                    },
                )
            )
    return problems


# --- execution -----------------------------------------------------------------------------------
class _NotFound(Exception):
    pass


@dataclass
class _Node:
    type: str
    value: Any


@dataclass
class _Run:
    host: GitHubSandbox
    variables: dict[str, Any]
    can_see: Callable[[HostedRepository], bool]
    errors: list[dict[str, Any]] = field(default_factory=list)

    def arg(self, value: Any) -> Any:
        if isinstance(value, Variable):
            return self.variables.get(value.name)
        if isinstance(value, list):
            return [self.arg(item) for item in value]
        if isinstance(value, Enum):
            return value.name
        return value

    def select(
        self, node: _Node, selections: list[Union[Selection, Fragment]], path: list[Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in selections:
            if isinstance(item, Fragment):
                if item.on == node.type:
                    out.update(self.select(node, item.selections, path))
                continue
            args = {name: self.arg(value) for name, value in item.args.items()}
            where = [*path, item.alias]
            try:
                value = self.resolve(node, item.name, args)
            except _NotFound as exc:
                self.errors.append(_error(str(exc), item, type="NOT_FOUND", path=where))
                value = None
            out[item.alias] = self.complete(value, item, where)
        return out

    def complete(self, value: Any, item: Selection, path: list[Any]) -> Any:
        if isinstance(value, _Node):
            return self.select(value, item.selections, path)
        if isinstance(value, list):
            return [self.complete(v, item, [*path, i]) for i, v in enumerate(value)]
        return value

    def resolve(self, node: _Node, name: str, args: dict[str, Any]) -> Any:
        host, value = self.host, node.value
        if node.type == "Query":
            repo = host.repository(str(args["owner"]), str(args["name"]))
            if repo is None or not self.can_see(repo):
                raise _NotFound(
                    f"Could not resolve to a Repository with the name '{args['owner']}/{args['name']}'."
                )
            return _Node("Repository", repo)
        if node.type == "Repository":
            repo = value
            if name in ("name", "nameWithOwner"):
                return repo.slug if name == "name" else repo.full_name
            if name == "url":
                return host.web_href(repo)
            if name == "defaultBranchRef":
                return self.ref(repo, repo.main_branch)
            if name == "ref":
                qualified = str(args["qualifiedName"])
                branch = qualified[len("refs/heads/") :] if qualified.startswith("refs/heads/") else qualified
                return self.ref(repo, branch)
            return self.pull_requests(repo, args)
        if node.type == "Ref":
            repo, branch, tip = value
            return {"name": branch, "prefix": "refs/heads/"}.get(name) or _Node("Commit", (repo, tip))
        if node.type in ("Commit", "Tree", "Blob"):
            return self.git_object(node.type, value, name, args)
        if node.type == "TreeEntry":
            repo, entry = value
            if name == "object":
                kind = {"blob": "Blob", "tree": "Tree", "commit": "Commit"}[entry.type]
                return _Node(kind, (repo, entry.sha))
            return {
                "name": entry.path.rsplit("/", 1)[-1],
                "path": entry.path,
                "type": entry.type,
                "mode": int(entry.mode, 8),
                "oid": entry.sha,
            }[name]
        if node.type.endswith("Connection"):
            nodes, total = value
            return nodes if name == "nodes" else total
        if node.type == "PullRequest":
            return self.pull_request_field(value, name, args)
        if node.type == "ReviewRequest":
            return value
        return value.nickname if node.type == "User" else value

    def ref(self, repo: HostedRepository, branch: str) -> Optional[_Node]:
        tip = repo.tip(branch)
        return None if tip is None else _Node("Ref", (repo, branch, tip))

    def git_object(
        self, kind: str, value: tuple[HostedRepository, str], name: str, args: dict[str, Any]
    ) -> Any:
        repo, sha = value
        if name == "oid":
            return sha
        if kind == "Commit":
            if name == "tree":
                return _Node("Tree", (repo, repo.git.tree_of(sha)))
            if name == "parents":
                parents = list(repo.git.commit_info(sha).parents)
                first = args.get("first")
                shown = parents if first is None else parents[: int(first)]
                return _Node("CommitConnection", ([_Node("Commit", (repo, p)) for p in shown], len(parents)))
            path = str(args["path"])
            entry = repo.git.entry(sha, path) if path.strip("/") else None
            if entry is None:
                raise _NotFound(f"Could not resolve file for path '{path}'.")
            return _Node("TreeEntry", (repo, entry))
        data = repo.git.blob(sha)
        binary = b"\0" in data[:8000]
        if name == "byteSize":
            return len(data)
        if name == "isBinary":
            return binary
        if name == "isTruncated":
            return len(data) > TEXT_LIMIT
        return None if binary else data[:TEXT_LIMIT].decode("utf-8", "replace")

    def pull_requests(self, repo: HostedRepository, args: dict[str, Any]) -> _Node:
        states = set(args.get("states") or _PR_STATES)
        found = []
        for pr in sorted(repo.pull_requests.values(), key=lambda p: p.id):
            state = {DECLINED: "CLOSED", MERGED: "MERGED", OPEN: "OPEN"}.get(pr.state, "CLOSED")
            if state not in states:
                continue
            if args.get("headRefName") is not None and pr.source != args["headRefName"]:
                continue
            if args.get("baseRefName") is not None and pr.destination != args["baseRefName"]:
                continue
            found.append(_Node("PullRequest", (repo, pr)))
        first = args.get("first")
        return _Node("PullRequestConnection", (found if first is None else found[: int(first)], len(found)))

    def pull_request_field(
        self, value: tuple[HostedRepository, PullRequest], name: str, args: dict[str, Any]
    ) -> Any:
        repo, pr = value
        if name == "headRepository":
            return _Node("Repository", pr.source_repo or repo)
        if name == "reviewRequests":
            requests = [_Node("ReviewRequest", _Node("User", account)) for account in pr.reviewers]
            requests += [_Node("ReviewRequest", _Node("Team", slug)) for slug in pr.team_reviewers]
            first = args.get("first")
            return _Node(
                "ReviewRequestConnection",
                (requests if first is None else requests[: int(first)], len(requests)),
            )
        state = {DECLINED: "CLOSED", MERGED: "MERGED"}.get(pr.state, "OPEN")
        return {
            "number": pr.id,
            "url": self.host.web_href(repo, f"/pull/{pr.id}"),
            "title": pr.title,
            "body": pr.description,
            "state": state,
            "isDraft": pr.draft,
            "headRefName": pr.source,
            "baseRefName": pr.destination,
        }[name]


def execute(
    host: GitHubSandbox,
    query: str,
    variables: dict[str, Any],
    can_see: Callable[[HostedRepository], bool],
) -> dict[str, Any]:
    """The body GitHub answers (always with HTTP 200): `data` and/or `errors`."""
    try:
        operation = parse(query)
    except GraphQLSyntaxError as exc:
        return {"errors": [{"message": str(exc), "locations": [{"line": exc.line, "column": exc.column}]}]}
    problems = _validate(operation, variables)
    if problems:
        return {"errors": problems}
    run = _Run(host, variables, can_see)
    data = run.select(_Node("Query", None), operation.selections, [])
    return {"data": data, "errors": run.errors} if run.errors else {"data": data}
