"""The use case: one pull request carrying the right port.yml, whatever state the repository is in.

The outcome table (create-pull-request's model, over REST):
- the base already holds the desired port.yml     -> none      (an open PR from our branch is declined)
- our branch is absent                            -> created   (branch + commit from the base tip, then PR)
- our branch exists, no open PR, one commit on the -> created   (our commit on it, then the PR: it is most
  current base                                                   likely a concurrent run's, PR not open yet)
- our branch exists, no open PR, anything else    -> created   (left over: recreated from the base tip)
- open PR, branch holds the desired content       -> unchanged (nothing written)
- open PR, branch holds something else            -> updated   (a commit on the branch whose port.yml is
                                                                the merge against the *current* base)
Only port.yml is ever written, and always as "current base port.yml + our change", so the PR can never
revert someone else's change. A 409 (someone moved a branch under us) re-reads everything and decides again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence, Tuple

from port_gitops.actions import Action
from port_gitops.errors import InvalidInputError, JobFailedError, UsageError
from port_gitops.limits import MAX_PORTYML_BYTES, check_size
from port_gitops.markdown import code
from port_gitops.model import Blueprints, EnrichValues
from port_gitops.parallel import Prefetch
from port_gitops.portyml import MergeResult, merge, unified_diff
from port_gitops.portyml.template import placeholder_variable
from port_gitops.repo_ref import RepoRef
from port_gitops.result import Result
from port_gitops.retry import RetryPolicy
from port_gitops.scm import PullRequest, Scm, ScmConflict
from port_gitops.scm.base import DRAFT, LABELS, TEAM_REVIEWERS, ReadsAhead
from port_gitops.validate import validate_text

log = logging.getLogger("port_gitops")

MAX_TITLE = 255  # GitLab's limit for a merge request title (GitHub 256; Bitbucket 255)
# Re-read-and-decide rounds after a 409 (a concurrent run moved the branch), with jittered backoff
# between them, bounded by --max-wait too: twenty runs for one service at once must all get through.
MAX_ROUNDS = 12
_TEXT_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")


class EnrichJob(NamedTuple):
    values: EnrichValues
    action: Action
    entities: Tuple[Mapping[str, Any], ...]  # rendered, typed and checked before anything is read
    repo: RepoRef
    blueprints: Blueprints
    path: str = "port.yml"
    branch: Optional[str] = None
    base: Optional[str] = None
    reviewers: Tuple[str, ...] = ()
    team_reviewers: Tuple[str, ...] = ()
    labels: Tuple[str, ...] = ()
    draft: bool = False
    author: Optional[str] = None
    dry_run: bool = False
    build_url: Optional[str] = None
    repo_note: Optional[str] = None  # told after "started": how the repository was chosen, when not given


@dataclass(eq=False, repr=False)  # holds callables: never compared or shown
class Progress:
    """Where each step is told: stderr progress and, when a run id is known, Port's run log."""

    port_log: Callable[[str], None] = lambda message: None
    before_write: Callable[[], None] = lambda: None  # waits for what must be settled before any write
    # The outcome, pull request and changes are final: the lines said from now on close the run, and
    # the final status's summary says them (Port's log then costs no request after the SCM's last).
    settled: Callable[[], None] = lambda: None

    def step(self, message: str) -> None:
        log.info("%s", message)
        self.port_log(message)


_REF_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_HASHED = re.compile(r"-[0-9a-f]{8}$")
MAX_BRANCH_BYTES = 255  # git's limit for one ref component (a file name); the whole name is kept within it


def default_branch_name(entity: str, prefix: str = "port/enrich-") -> str:
    """`<prefix><entity>` (the action's prefix) as a valid git ref (git check-ref-format), one per identifier.

    Sanitising maps many identifiers to one name (`svc+a`, `svc@a` -> `svc-a`), so whenever it changed
    anything, and when the name must be shortened, the first 8 hex digits of the identifier's SHA-256 are
    appended: `svc+a` -> `svc-a-2287e9e5`. An identifier that already ends like that gets one too, so a
    hashed name never equals an untouched one (short of a 32-bit hash collision).
    """
    name = re.sub(r"\.{2,}", ".", _REF_BAD.sub("-", entity)).strip(".-")
    if name.endswith(".lock"):
        name = name[: -len(".lock")] + "-lock"
    digest = "-" + hashlib.sha256(entity.encode("utf-8")).hexdigest()[:8]
    room = MAX_BRANCH_BYTES - len(prefix.encode("utf-8")) - len(digest)
    if name != entity or len(name) > room or _HASHED.search(name):
        name = (name[:room].rstrip(".-") or "entity") + digest
    return prefix + name


def check_branch_name(name: str, flag: str) -> str:
    bad = (
        not name
        or name.startswith(("/", "-", "."))
        or name.endswith(("/", ".", ".lock"))
        or ".." in name
        or "//" in name
        or "@{" in name
        or "/." in name
        or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", name) is not None
    )
    if bad:
        raise UsageError(f"{flag}: {name!r} is not a valid git branch name")
    return name


class Enrichment:
    """Runs one job against one SCM; fills `result` as it goes (so a failure still reports what is known)."""

    def __init__(
        self,
        job: EnrichJob,
        scm: Scm,
        progress: Progress,
        result: Result,
        *,
        policy: Optional[RetryPolicy] = None,
    ) -> None:
        self.job = job
        self.policy = policy or RetryPolicy()
        self.scm = scm
        self.progress = progress
        self.result = result
        self.branch = job.branch or default_branch_name(job.values.entity, job.action.branch_prefix)
        result.repository = job.repo.full_name
        result.branch = self.branch
        result.dry_run = job.dry_run
        self._content_cache: dict[Tuple[str, str], Optional[bytes]] = {}

    # -- reads -------------------------------------------------------------------------------
    def _read(self, commit: str) -> Optional[bytes]:
        key = (commit, self.job.path)
        if key not in self._content_cache:
            self._content_cache[key] = self.scm.read_file(commit, self.job.path)
        return self._content_cache[key]

    def _desired(self, base_tip: str) -> MergeResult:
        source = f"{self.job.repo.full_name}:{self.job.path}@{base_tip[:12]}"
        raw = self._read(base_tip)
        if raw is not None:
            check_size(source, len(raw), MAX_PORTYML_BYTES)  # before any parsing (README, "Limits")
        try:
            existing = None if raw is None else raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"{source} is not UTF-8 text (byte {exc.start}); it is left untouched"
            ) from None
        merged = merge(existing, self.job.entities, source=source)
        self._check_merged(merged, self.job.entities, source)
        return merged

    def _check_merged(self, merged: MergeResult, entities: Sequence[Mapping[str, Any]], source: str) -> None:
        """What we write must be valid; what others wrote is theirs: warn, never refuse.

        A required property our change does not set is a problem only when our entity is new: Port
        already holds the value of an entity it knows.
        """
        ours = {(e.get("identifier"), e.get("blueprint")) for e in entities}
        added = {change.rsplit(":", 1)[0] for change in merged.changes if change.endswith(": added")}
        for problem in validate_text(merged.text, self.job.blueprints, source=source):
            required = problem.message.endswith("requires it")
            if (problem.entity, problem.blueprint) in ours and (
                not required or f"{problem.blueprint} {problem.entity}" in added
            ):
                raise InvalidInputError(f"the merged {self.job.path} would be invalid: {problem}")
            warning = f"existing {self.job.path}: {problem}"
            if warning not in self.result.warnings:
                self.result.warnings.append(warning)
                log.warning("%s", warning)

    # -- writes (skipped, but listed, in a dry run) ----------------------------------------------
    def _write(self, description: str, action: Callable[[], object]) -> object:
        if self.job.dry_run:
            self.result.planned.append(description)
            self.progress.step(f"dry run: would {description}")
            return None
        self.progress.before_write()
        return action()

    def run(self) -> Result:
        job = self.job
        self.progress.step(self._text(job.action.texts.started, None, markdown=False))
        if job.repo_note:
            self.progress.step(job.repo_note)
        if isinstance(self.scm, ReadsAhead):  # see ReadsAhead: one request instead of several
            self.scm.read_ahead(self.branch, job.path)
        # The default reviewers depend on nothing we read: they go out beside the first reads, on a
        # connection of their own opened meanwhile, which the writes then find open (a new TLS
        # connection costs two round trips). Only a run that opens a pull request asks for the answer.
        self._reviewers = Prefetch(self.scm.default_reviewers)
        try:
            return self._rounds()
        finally:
            self._reviewers.close()

    def _rounds(self) -> Result:
        started = self.policy.now()
        for round_no in range(1, MAX_ROUNDS + 1):
            try:
                self._decide()
                return self.result
            except ScmConflict as exc:
                wait = self.policy.pause(round_no, started) if round_no < MAX_ROUNDS else None
                if wait is None:
                    raise JobFailedError(
                        f"{self.branch} kept moving while we wrote it ({round_no} attempts in "
                        f"{self.policy.now() - started:.0f} s): {exc.message}"
                    ) from exc
                self.progress.step(f"conflict: {exc.message}; re-read and decided again after {wait:.1f} s")
                self._content_cache.clear()
        raise AssertionError("unreachable")  # pragma: no cover

    def _decide(self) -> None:
        job, scm, result = self.job, self.scm, self.result
        base = job.base
        if base is None:
            base = scm.repository().default_branch
            if not base:
                raise JobFailedError(
                    f"repository {job.repo.full_name} is empty: it has no default branch yet"
                )
        if base == self.branch:
            raise UsageError(f"the pull request branch and the base are both {base!r}; they must differ")
        result.base = base
        tips = scm.branch_tips([base, self.branch])  # one request on Cloud
        base_tip, tip = tips[base], tips[self.branch]
        if base_tip is None:
            what = "the default branch" if job.base is None else "--base"
            raise JobFailedError(
                f"{what} {base!r} of {job.repo.full_name} has no commits"
                + (" (the repository is empty)" if job.base is None else " or does not exist")
            )
        self.progress.step(f"repository {job.repo.full_name} resolved; base {base} at {base_tip[:12]}")
        desired = self._desired(base_tip)
        result.changes = list(desired.changes)
        if job.dry_run:
            raw = self._read(base_tip)
            diff = unified_diff(None if raw is None else raw.decode("utf-8"), desired.text, job.path)
            if diff:
                log.info("%s", diff.rstrip("\n"))
        if not desired.changed:
            self._none(base, tip)
            return
        self.progress.step(f"{job.path} change against {base}: " + "; ".join(desired.changes))
        content = desired.text.encode("utf-8")
        if tip is None:
            self._create(base, base_tip, content, desired)
            return
        pr = scm.find_open_pr(self.branch)
        if pr is None:
            if scm.commit_parents(tip)[:1] == [base_tip]:
                # One commit on the current base and no PR: most likely a concurrent run's fresh branch
                # whose PR is about to open. Deleting it would close that PR; build on it instead.
                self._commit_on(tip, content, desired)
                self._open_pr(base, desired, outcome="created")
                return
            self.progress.step(
                f"{self.branch} is left over from an earlier pull request; recreating it from {base}"
            )
            self._write(f"delete branch {self.branch}", lambda: scm.delete_branch(self.branch))
            self._create(base, base_tip, content, desired)
            return
        if self._read(tip) == content:
            result.commit = tip
            self._set_pr(pr)
            self._settle("unchanged")
            self.progress.step(f"pull request #{pr.id} already carries this change: {pr.url}")
            return
        self._commit_on(tip, content, desired)
        updated = self._write(
            f"update pull request #{pr.id}",
            lambda: scm.update_pr(pr, title=self._title(), description=self._description(desired)),
        )
        self._set_pr(updated if isinstance(updated, PullRequest) else pr)
        self._settle("updated")
        self._did(f"pull request #{pr.id} updated: {pr.url}")

    def _settle(self, outcome: str) -> None:
        """The outcome is final; only its closing lines are left to say."""
        self.result.outcome = outcome
        self.progress.settled()

    def _did(self, message: str) -> None:
        """A step that wrote something: a dry run said what it would do, and never says it did."""
        if not self.job.dry_run:
            self.progress.step(message)

    def _commit_on(self, tip: str, content: bytes, desired: MergeResult) -> None:
        """Our port.yml as a commit on the branch at `tip` (the optimistic lock), unless it is there."""
        if self._read(tip) == content:
            self.result.commit = tip
            return
        self._commit(tip, content, desired, create_from=None)

    def _commit(
        self, parent: str, content: bytes, desired: MergeResult, *, create_from: Optional[str]
    ) -> None:
        """Our port.yml as a commit on `parent`: on the branch, or creating it from `create_from`."""
        job, result = self.job, self.result
        path, branch = job.path, self.branch
        commit = self._write(
            f"create branch {branch} from {create_from} ({parent[:12]}) with a commit of {path}"
            if create_from
            else f"commit {path} on {branch} (parent {parent[:12]})",
            lambda: self.scm.commit_file(
                branch=branch,
                path=path,
                content=content,
                message=self._message(desired),
                parent=parent,
                create_from=create_from,
                author=job.author,
            ),
        )
        result.commit = commit if isinstance(commit, str) else None
        if result.commit:
            where = f"new branch {branch}" if create_from else branch
            self.progress.step(f"committed {result.commit[:12]} to {where}")

    def _none(self, base: str, tip: Optional[str]) -> None:
        result, scm = self.result, self.scm
        self._settle("none")
        self.progress.step(f"{self.job.path} on {base} already holds the desired content")
        if tip is None:
            return
        pr = scm.find_open_pr(self.branch)
        if pr is not None:
            self._write(f"decline redundant pull request #{pr.id}", lambda: scm.decline_pr(pr))
            if not self.job.dry_run:
                self.progress.step(f"pull request #{pr.id} is no longer needed; declined: {pr.url}")
                result.warnings.append(f"declined redundant pull request #{pr.id}")

    def _create(self, base: str, base_tip: str, content: bytes, desired: MergeResult) -> None:
        self._commit(base_tip, content, desired, create_from=base)
        self._open_pr(base, desired, outcome="created")

    def _open_pr(self, base: str, desired: MergeResult, outcome: str) -> None:
        job, features = self.job, self.scm.features
        defaults = self._reviewers.result()
        reviewers = list(dict.fromkeys([*job.reviewers, *defaults]))
        asked = {DRAFT: job.draft, LABELS: bool(job.labels), TEAM_REVIEWERS: bool(job.team_reviewers)}
        for feature in sorted(name for name, wanted in asked.items() if wanted and name not in features):
            warning = f"{feature} are not supported here; the pull request is opened without them"
            if feature == DRAFT:
                warning = "draft pull requests are not supported here; it is opened as ready for review"
            self.result.warnings.append(warning)
            log.warning("%s", warning)
        pr = self._write(
            f"open a pull request {self.branch} -> {base}"
            + (" (draft)" if job.draft and DRAFT in features else ""),
            lambda: self.scm.create_pr(
                branch=self.branch,
                base=base,
                title=self._title(),
                description=self._description(desired),
                reviewers=reviewers,
                labels=job.labels if LABELS in features else (),
                team_reviewers=job.team_reviewers if TEAM_REVIEWERS in features else (),
                draft=job.draft and DRAFT in features,
            ),
        )
        self.result.outcome = outcome
        if isinstance(pr, PullRequest):
            self._set_pr(pr)
            self.progress.settled()
            self.progress.step(f"pull request #{pr.id} created: {pr.url}")

    def _set_pr(self, pr: PullRequest) -> None:
        self.result.pull_request = {"id": pr.id, "url": pr.url}

    # Titles, descriptions and commit messages are all rendered as Markdown by some host (GitHub and
    # GitLab link #123 and @user in titles and commit messages too): payload text goes in as code spans.
    def _title(self) -> str:
        title = self._text(self.job.action.texts.title, None, markdown=True)
        if len(title) > MAX_TITLE:  # identifiers may have 1000 characters: shorten the values, not ours
            title = self._text(self.job.action.texts.title, None, markdown=True, shorten=True)
        return title[:MAX_TITLE]

    def _description(self, desired: MergeResult) -> str:
        return self._text(self.job.action.texts.description, desired, markdown=True)

    def _message(self, desired: MergeResult) -> str:
        return self._text(self.job.action.texts.commit, desired, markdown=True)

    def _changed_keys(self, changes: Sequence[str]) -> list[str]:
        """The merge's changes, an added entity spelled out key by key (each changed key is listed)."""
        listed = []
        for change in changes:
            listed.append(change)
            if not change.endswith(": added"):
                continue
            for entity in self.job.entities:
                if change == f"{entity.get('blueprint')} {entity.get('identifier')}: added":
                    for section in ("properties", "relations"):
                        members = entity.get(section)
                        if isinstance(members, Mapping):
                            listed.extend(f"  {section}.{key}: {value}" for key, value in members.items())
        return listed

    def _text(
        self, template: str, desired: Optional[MergeResult], *, markdown: bool, shorten: bool = False
    ) -> str:
        """An action's text, placeholders filled; in Markdown, every payload-derived part is a code span
        (markdown.code): it cannot add a link, image, mention, reference, HTML or heading."""
        job, values = self.job, self.job.values
        plain = code if markdown else (lambda text: " ".join(text.splitlines()))
        if shorten:
            full = plain
            plain = lambda text: full(text if len(text) <= 40 else text[:39] + "…")  # noqa: E731
        changes = self._changed_keys(desired.changes) if desired else ()
        known = {
            "entity": plain(values.entity),
            "action.title": job.action.title,
            "path": job.path,
            "changes": "\n".join((f"- {plain(c)}" if markdown else c) for c in changes),
            "run": f" (run {code(values.run_id)})" if markdown and values.run_id else "",
            "build": f"\nJenkins build: {job.build_url}\n" if markdown and job.build_url else "",
        }

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in known:
                return known[name]
            variable = placeholder_variable(name, f"{job.action.identifier} pull request text")
            return plain(values.variables.get(variable) or "")

        return _TEXT_PLACEHOLDER.sub(fill, template)


def links(result: Result, build_url: Optional[str]) -> Sequence[str]:
    found = [result.pull_request["url"]] if result.pull_request else []
    return [*found, build_url] if build_url else found
