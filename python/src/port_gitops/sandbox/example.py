"""The example service seeded for manual use and the demo: a repository that already has a
hand-commented port.yml describing *another* entity (so a merge must keep it, comments and all),
a default reviewer, an IN_PROGRESS Port run, and the webhook payload of Port's guide for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from port_gitops.sandbox import Sandbox

EXISTING_PORT_YML = """\
# Catalog entries for this repository. Maintained by hand (and by Port's Enrich Service action).
- identifier: payments-worker   # the queue consumer, deployed separately
  blueprint: service
  properties:
    type: backend
    lifecycle: Experimental
  relations:
    domain: billing
"""

README = "# payments\n\nTakes the money.\n"


@dataclass(frozen=True)
class Example:
    workspace: str
    slug: str
    run_id: str
    repo_url: str
    payload: dict[str, Any]


def seed_example(sandbox: Sandbox, *, slug: str = "payments", run_id: str = "r_sandbox_1") -> Example:
    """Create the example repository and run in `sandbox`; returns what to enrich it with."""
    workspace = sandbox.workspace
    sandbox.bitbucket.create_repository(workspace, slug, {"port.yml": EXISTING_PORT_YML, "README.md": README})
    reviewer = sandbox.bitbucket.add_user("Dana Reviewer", email="dana@example.com")
    sandbox.bitbucket.set_default_reviewers(workspace, slug, [reviewer.uuid])
    sandbox.port.create_run(run_id, entity=slug)
    repo_url = sandbox.bitbucket.repository_url(workspace, slug)
    payload = {
        "port_context": {"entity": slug, "repo_url": repo_url, "runId": run_id},
        "domain": "billing",
        "type": "backend",
        "lifecycle": "Production",
    }
    return Example(workspace, slug, run_id, repo_url, payload)
