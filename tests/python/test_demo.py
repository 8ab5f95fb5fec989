"""`make demo` runs `port-gitops demo`: the whole job against the embedded sandbox, then `unchanged`."""

from __future__ import annotations

from conftest import run_cli


def test_demo_runs_end_to_end() -> None:
    proc = run_cli("demo")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode() + out
    assert "outcome created" in out and "outcome unchanged" in out
    assert "+- identifier: payments" in out, "the port.yml diff is shown"
    assert "Port run r_demo_1: SUCCESS (created)" in out
    assert out.rstrip().endswith("demo: OK")


def test_demo_on_gitlab() -> None:
    proc = run_cli("demo", "--scm", "gitlab")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode() + out
    assert "outcome created" in out and "outcome unchanged" in out and "/-/merge_requests/1" in out
    assert out.rstrip().endswith("demo: OK")


def test_demo_runs_the_set_ownership_action() -> None:
    proc = run_cli("demo", "--action", "set_ownership")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode() + out
    assert "+    onCall: true" in out and "+    owners: [platform, sre]" in out
    assert "Port run r_demo_1: SUCCESS (created)" in out
    assert out.rstrip().endswith("demo: OK")


def test_demo_plays_github_too() -> None:
    proc = run_cli("demo", "--scm", "github")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode() + out
    assert "Sandbox: github" in out and "outcome created" in out and "outcome unchanged" in out
    assert "/acme/payments/pull/1" in out and out.rstrip().endswith("demo: OK")
