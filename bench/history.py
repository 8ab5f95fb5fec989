"""Repositories with a lot of history, and the baseline that Port's curl/sed guide amounts to:
clone over git's smart HTTP, overwrite port.yml from the template, commit, push a branch.
"""

from __future__ import annotations

import base64
import random
import subprocess
import tempfile
import time
from pathlib import Path

from processes import run_timed

from port_gitops.sandbox import Sandbox

COMMITS = 10
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "enrichService.yml"
# Random data is incompressible: stored uncompressed, the pack on the wire is the same size as a
# deflated one, and generating 200 MB takes seconds instead of half a minute. Blobs over 1 MB skip
# the (hopeless) delta search for the same reason.
_FAST_STORE = ("-c", "core.compression=0", "-c", "core.bigFileThreshold=1m")


def add_history(sandbox: Sandbox, workspace: str, slug: str, size: int, seed: int) -> int:
    """Put `size` bytes of incompressible history on the main branch (COMMITS commits, each
    rewriting one data file, so the tip's tree stays small), pack it as a server keeps it
    (`git gc`: one pack with bitmaps), and return the pack size in bytes."""
    git_dir = sandbox.bitbucket.git_dir(workspace, slug)
    tip = sandbox.bitbucket.branch_tip(workspace, slug, "main")
    if tip is None:
        raise RuntimeError(f"{workspace}/{slug} has no main branch to build history on")
    git = ["git", f"--git-dir={git_dir}", *_FAST_STORE]
    env = sandbox.bitbucket.git_env
    importer = subprocess.Popen([*git, "fast-import", "--quiet"], stdin=subprocess.PIPE, env=env)
    assert importer.stdin is not None
    generator = random.Random(seed)
    for number in range(COMMITS):
        message = f"History {number + 1} of {COMMITS}\n".encode()
        data = generator.randbytes(size // COMMITS)
        importer.stdin.write(
            b"commit refs/heads/main\ncommitter Alex Maintainer <alex@example.com> %d +0000\n"
            b"data %d\n%s" % (1_700_000_000 + number, len(message), message)
        )
        if number == 0:
            importer.stdin.write(b"from %s\n" % tip.encode())
        importer.stdin.write(b"M 644 inline assets/data.bin\ndata %d\n%s\n" % (len(data), data))
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError(f"git fast-import failed for {workspace}/{slug}")
    subprocess.run([*git, "gc", "--quiet"], env=env, check=True)
    return sum(pack.stat().st_size for pack in (git_dir / "objects" / "pack").glob("*.pack"))


def git_client_env(sandbox: Sandbox, home: Path) -> dict[str, str]:
    """A git client with no user configuration, the sandbox's credentials in an environment-only
    header (never on a command line), and an identity for its commit."""
    auth = base64.b64encode(f"{sandbox.bitbucket.username}:{sandbox.bitbucket.token}".encode()).decode()
    sandbox_env = sandbox.env()
    loopback = sandbox_env["NO_PROXY"]
    tls = {"GIT_SSL_CAINFO": sandbox_env["GIT_SSL_CAINFO"]} if "GIT_SSL_CAINFO" in sandbox_env else {}
    return {
        **tls,
        **sandbox.bitbucket.git_env,
        "HOME": str(home),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {auth}",
        "GIT_AUTHOR_NAME": "Port Bot",
        "GIT_AUTHOR_EMAIL": sandbox.bitbucket.username,
        "GIT_COMMITTER_NAME": "Port Bot",
        "GIT_COMMITTER_EMAIL": sandbox.bitbucket.username,
        "NO_PROXY": loopback,
        "no_proxy": loopback,
    }


def clone_edit_push(sandbox: Sandbox, workspace: str, slug: str, entity: str, branch: str) -> float:
    """Seconds from the start of `git clone --no-local` to the end of `git push` of a new branch."""
    values = {
        "service_identifier": entity,
        "service_type": "backend",
        "service_lifecycle": "Production",
        "domain_identifier": "billing",
    }
    with tempfile.TemporaryDirectory(prefix="port-gitops-bench-clone-") as tmp:
        env = git_client_env(sandbox, Path(tmp))
        checkout = Path(tmp) / slug
        url = sandbox.scm.clone_url(workspace, slug)
        start = time.perf_counter()
        run_timed(["git", "clone", "--quiet", "--no-local", url, str(checkout)], env=env).check()
        text = TEMPLATE.read_text(encoding="utf-8")
        for name, value in values.items():  # what the guide's sed does: overwrite the whole file
            text = text.replace(f"{{{{ {name} }}}}", value)
        (checkout / "port.yml").write_text(text, encoding="utf-8")
        git = ["git", "-C", str(checkout)]
        run_timed([*git, "commit", "--quiet", "-am", f"Enrich {entity}"], env=env).check()
        run_timed([*git, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], env=env).check()
        return time.perf_counter() - start
