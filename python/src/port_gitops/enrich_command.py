"""`port-gitops enrich` from flags to exit code: inputs, signature, settings, wiring, reporting, result.

Every exit writes the result file; once the run id is known (and, with --verify-signature, verified) it
holds `"outcome": "running"` until then, so the Jenkins step knows the id is trusted even if this
process dies. Whenever Port credentials and a run id are known, exits 1, 2 and 3
report FAILURE with a one-line reason; 5 (signature) never does: an unauthenticated run id is not
trusted. Nothing is written to Bitbucket before all input is validated.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from typing import TYPE_CHECKING, Mapping, Optional

from port_gitops import config
from port_gitops.enrich import EnrichJob, Enrichment, Progress, check_branch_name, links
from port_gitops.errors import (
    EXIT_OK,
    InvalidInputError,
    JobFailedError,
    PortGitopsError,
    PortReportError,
    SignatureError,
    UsageError,
)
from port_gitops.logsetup import mask
from port_gitops.markdown import code
from port_gitops.model import ENTITY, REPO_URL
from port_gitops.reporting import RunReporter
from port_gitops.result import Result
from port_gitops.scm.errors import ScmNotFound
from port_gitops.wiring import RunSessions, run_sessions

if TYPE_CHECKING:
    import requests

    from port_gitops.inputs import Collected
    from port_gitops.model import EnrichValues
    from port_gitops.port_api import PortClient
    from port_gitops.port_setup import Catalog
    from port_gitops.retry import RetryPolicy

log = logging.getLogger("port_gitops")


def _first_env(environ: Mapping[str, str], *names: str) -> Optional[str]:
    for name in names:
        if environ.get(name):
            return environ[name]
    return None


class EnrichCommand:
    def __init__(
        self,
        args: argparse.Namespace,
        environ: Mapping[str, str] = os.environ,
        sessions: Optional[RunSessions] = None,
    ) -> None:
        self.args = args
        self.environ = environ
        # Opened first thing by the command (their connections warm up meanwhile), else here.
        self.sessions = sessions or run_sessions(args, environ)
        self.result = Result()
        self.reporter: Optional[RunReporter] = None
        self._repo_source = ""  # what the repository's name was made from when no URL was given

    def execute(self) -> int:
        try:
            code = self._run()
        except PortGitopsError as exc:
            code = self._fail(exc)
        except Exception as exc:
            log.debug("unexpected error", exc_info=True)
            code = self._fail(JobFailedError(f"unexpected {type(exc).__name__}: {exc}"))
        if self.reporter is not None:
            self.reporter.close()  # the background sender has nothing left: stop it
        self.result.exit_code = code
        self._emit()
        return code

    # -- the happy path ------------------------------------------------------------------------
    def _run(self) -> int:
        args = self.args
        retry = config.retry_settings(args)
        port = config.port_settings(args, self.environ)
        body = self._body()
        self.result.dry_run = bool(args.dry_run)
        if args.verify_signature:
            self._verify(body, port)  # on the raw bytes, before anything parses them
        from port_gitops.inputs import ActionRefused, collect
        from port_gitops.model import run_id_problem

        try:
            collected = collect(args, body)
        except ActionRefused as exc:
            # A payload for another action: its run is told (when the id has Port's shape).
            self._open_run(exc.run_id if exc.run_id and not run_id_problem(exc.run_id) else None, port, retry)
            raise
        self.result.action = collected.action.identifier
        # A run id not of Port's shape is invalid input like any other value, refused before anything is
        # requested or written (and never reported to).
        self._open_run(self._run_id(collected.run_id, collected.fields), port, retry)
        scm_settings = config.scm_settings(args, self.environ)
        self.result.scm = scm_settings.scm
        job = self._job(collected, scm_settings)
        from port_gitops.wiring import make_scm

        # One session per outside system: nothing one library puts on its session (atlassian-python-api
        # stores Bitbucket's credential there) can reach the other service's requests.
        _, _, policy = self._port_access
        scm = make_scm(scm_settings, job.repo, session=self.sessions.scm, policy=policy)
        reporter = self.reporter
        if reporter is not None:
            # The token overlaps the first SCM reads; a Port 401 is still exit 2 before any write.
            reporter.authenticate()
        progress = Progress(
            port_log=reporter.log if reporter is not None else (lambda m: None),
            before_write=reporter.ready if reporter is not None else (lambda: None),
            settled=reporter.conclude if reporter is not None else (lambda: None),
        )
        try:
            Enrichment(job, scm, progress, self.result, policy=policy).run()
        except ScmNotFound as exc:
            if not job.repo.fallback:
                raise
            advice = self._fallback_advice(job, collected, self._repo_source)
            raise ScmNotFound(f"{exc.message}; {advice}", status=exc.status) from exc
        progress.step(f"finished: {self.result.outcome}")
        try:
            self._finish("SUCCESS", self.result.outcome, self._summary())
        except PortReportError as exc:
            self.result.error = exc.message
            self.result.warnings.append(f"Port could not be told: {exc.message}")
            print(f"port-gitops enrich: error: {mask(exc.message)}", file=sys.stderr)
            return exc.exit_code
        return EXIT_OK

    def _open_run(
        self, run_id: Optional[str], port: config.PortSettings, retry: config.RetrySettings
    ) -> None:
        """From here on every failure is reported to this run (when there is one)."""
        from port_gitops.retry import RetryPolicy

        self.result.port_run.id = run_id
        self.result.port_run.verified = bool(self.args.verify_signature and run_id)
        if self.args.result_file:
            self._write_result(self.result.running_json())
        session = self.sessions.port
        policy = RetryPolicy(max_attempts=retry.max_attempts, max_wait=retry.max_wait)
        self._start_reporter(port, session, policy)
        self._port_access = (port, session, policy)

    def _body(self) -> Optional[bytes]:
        """The raw body (None when the data flags give the values), read within its size limit."""
        from port_gitops.limits import MAX_PAYLOAD_BYTES, read_bounded

        if self.args.payload is None:
            return None
        return read_bounded(self.args.payload, limit=MAX_PAYLOAD_BYTES, what="payload", flag="--payload")

    @staticmethod
    def _run_id(run_id: Optional[str], fields: Mapping[str, str]) -> Optional[str]:
        from port_gitops.model import RUN_ID, field_of, run_id_problem

        problem = None if run_id is None else run_id_problem(run_id)
        if problem:
            raise InvalidInputError(problem, field=field_of(fields, RUN_ID))
        return run_id

    def _verify(self, body: Optional[bytes], port: config.PortSettings) -> None:
        from port_gitops.signature import verify

        if body is None:
            raise UsageError("--verify-signature needs the raw body as --payload")
        if not port.client_secret:
            raise UsageError("--verify-signature needs PORT_CLIENT_SECRET (Port signs webhooks with it)")
        try:
            tolerance = float(self.args.signature_tolerance)
        except ValueError:
            raise UsageError(
                "--signature-tolerance/PORT_GITOPS_SIGNATURE_TOLERANCE: expected seconds"
            ) from None
        verify(
            body,
            self.args.signature or _first_env(self.environ, "X_PORT_SIGNATURE", "x_port_signature"),
            self.args.timestamp or _first_env(self.environ, "X_PORT_TIMESTAMP", "x_port_timestamp"),
            port.client_secret,
            tolerance=tolerance,
        )

    def _start_reporter(
        self, port: config.PortSettings, session: requests.Session, policy: RetryPolicy
    ) -> None:
        run_id = self.result.port_run.id
        if run_id is None:
            log.info("no Port run id in the input: progress is not reported to Port")
            return
        if self.args.dry_run:
            log.info("dry run: nothing is reported to Port run %s", run_id)
            return
        if not port.has_credentials:
            raise UsageError(
                f"the input names Port run {run_id} but PORT_CLIENT_ID/PORT_CLIENT_SECRET are not set, "
                "so its status cannot be reported"
            )
        self.reporter = RunReporter(_port_client(port, session, policy), self.result.port_run)

    def _catalog(self) -> Catalog:
        """Port's catalog through the run's client (or a new one when no run is reported)."""
        from port_gitops.port_setup import Catalog

        port, session, policy = self._port_access
        client = self.reporter.client if self.reporter is not None else None
        if client is None:
            if not port.has_credentials:
                what = "--blueprints-from-port/--check-relations read Port"
                raise UsageError(f"{what}: set PORT_CLIENT_ID and PORT_CLIENT_SECRET")
            client = _port_client(port, session, policy)
        return Catalog(client)

    def _job(self, collected: Collected, scm_settings: config.ScmSettings) -> EnrichJob:
        from port_gitops.commands.options import env_list
        from port_gitops.inputs import prepare
        from port_gitops.wiring import repository

        args = self.args
        catalog = self._catalog() if args.blueprints_from_port or args.check_relations else None
        live = None
        if catalog is not None and args.blueprints_from_port:
            if args.blueprints:
                raise UsageError("give --blueprints FILE or --blueprints-from-port, not both")
            from port_gitops.live_checks import live_blueprints

            live = functools.partial(live_blueprints, catalog, "Port's blueprints (--blueprints-from-port)")
        prepared = prepare(collected, args, live_blueprints=live)
        if catalog is not None and args.check_relations:
            from port_gitops.live_checks import check_relations

            check_relations(prepared.entities, prepared.blueprints, catalog)
        values = prepared.values
        repo = repository(scm_settings, repo_url=values.repo_url, entity=values.entity)
        self._repo_source = self._fallback_source(values, scm_settings)
        where = "in the payload " if collected.from_payload else ""
        note = f"repository not given {where}({values.field(REPO_URL)} empty); using {repo.full_name}"
        return EnrichJob(
            values=values,
            action=prepared.action,
            entities=prepared.entities,
            repo=repo,
            blueprints=prepared.blueprints,
            path=self._path(args.path),
            branch=check_branch_name(args.branch, "--branch/PORT_GITOPS_BRANCH") if args.branch else None,
            base=check_branch_name(args.base, "--base/PORT_GITOPS_BASE") if args.base else None,
            reviewers=tuple(env_list("PORT_GITOPS_REVIEWERS", args.reviewer)),
            team_reviewers=tuple(env_list("PORT_GITOPS_TEAM_REVIEWERS", args.team_reviewer)),
            labels=tuple(env_list("PORT_GITOPS_LABELS", args.label)),
            draft=bool(args.draft),
            author=config.author(args.author),
            dry_run=bool(args.dry_run),
            build_url=self.environ.get("BUILD_URL") or None,
            repo_note=f"{note} from {self._repo_source}" if repo.fallback else None,
        )

    @staticmethod
    def _fallback_source(values: EnrichValues, scm_settings: config.ScmSettings) -> str:
        """What a repository name is made from when no URL is given: the owner setting and the entity
        identifier, or the identifier alone when it is `OWNER/NAME`."""
        entity = values.field(ENTITY)
        return entity if "/" in values.entity else f"{scm_settings.owner_setting} and {entity}"

    @staticmethod
    def _fallback_advice(job: EnrichJob, collected: Collected, source: str) -> str:
        """What to do when the repository made up for a missing URL does not exist (or is not visible)."""
        field = job.values.field(REPO_URL)
        made = f"the name {job.repo.full_name} was made from {source} because {field} is empty"
        if not collected.from_payload:
            return f"{made}: pass the repository's URL as {field}"
        return (
            f"{made}: give the {job.action.blueprint} blueprint the `url` property that the action's body "
            f"sends as {field} (`{{{{ .entity.properties.url }}}}`, as Port's SCM integrations do) and set "
            "it on the entity, or send the repository's URL in the payload"
        )

    @staticmethod
    def _path(path: str) -> str:
        parts = path.strip("/").split("/")
        if not path.strip("/") or any(p in ("", ".", "..") for p in parts):
            raise UsageError(f"--path/PORT_GITOPS_PATH: {path!r} is not a file path inside the repository")
        return "/".join(parts)

    # -- endings -------------------------------------------------------------------------------
    def _summary(self) -> str:
        """The run's outcome in Markdown for Port's run page; it also says what the closing lines
        said (RunReporter.conclude). Payload-derived text goes in as code spans (markdown.code)."""
        r = self.result
        where = f" for {code(r.repository)}" if r.repository else ""
        if r.repository and r.branch and r.base:
            where += f" ({code(r.branch)} → {code(r.base)})"
        lines = [f"Outcome: **{r.outcome}**{where}."]
        if r.pull_request:
            lines.append(f"Pull request #{r.pull_request['id']}: {r.pull_request['url']}")
        lines.extend(f"- {code(c)}" for c in r.changes)
        lines.extend(f"Warning: {code(w)}" for w in r.warnings)
        if r.error:
            lines.append(f"Error: {code(r.error)}")
        return mask("\n".join(lines))  # it leaves the process: through the secret mask, like the result

    def _finish(self, status: str, label: str, summary: str) -> None:
        if self.reporter is None:
            return
        self.reporter.finish(
            status, label, links(self.result, self.environ.get("BUILD_URL") or None), summary
        )

    def _fail(self, exc: PortGitopsError) -> int:
        self.result.outcome = "failed"
        self.result.error = mask(exc.message)
        print(f"port-gitops enrich: error: {self.result.error}", file=sys.stderr)
        if isinstance(exc, SignatureError):
            return exc.exit_code
        if (
            self.reporter is not None
            and self.reporter.active
            and self.result.port_run.id
            and not self.args.dry_run
        ):
            try:
                self._finish("FAILURE", "failed", self._summary())
            except PortGitopsError as report_exc:
                # The enrichment's own code wins; say that Port was not told either.
                self.result.warnings.append(f"Port could not be told: {mask(report_exc.message)}")
                print(
                    f"port-gitops enrich: error: Port could not be told: {mask(report_exc.message)}",
                    file=sys.stderr,
                )
        return exc.exit_code

    def _emit(self) -> None:
        # Everything that leaves the process goes through the secret mask, whatever put it in the result.
        text = mask(self.result.to_json())
        if self.args.result_file:
            self._write_result(text)
        print(text if self.args.json else mask(self.result.summary()))

    def _write_result(self, text: str) -> None:
        try:
            self.result.write(self.args.result_file, mask(text))
        except OSError as exc:
            print(f"port-gitops enrich: error: cannot write --result-file: {exc}", file=sys.stderr)


def _port_client(port: config.PortSettings, session: requests.Session, policy: RetryPolicy) -> PortClient:
    """The run's Port client (imported here: a run without Port never loads it)."""
    from port_gitops.port_api import PortClient

    return PortClient(
        port.base_url,
        port.client_id or "",
        port.client_secret or "",
        session=session,
        policy=policy,
        url_setting=port.url_setting,
    )
