"""Run `port-gitops enrich` in-process against a sandbox, the way the CLI runs it.

In-process (through `cli.main`) so that retry waits can be recorded instead of slept and the client
timeout made tiny; everything else — argument parsing, env twins, HTTP on loopback, git — is real.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from port_gitops import cli, http, retry
from port_gitops.sandbox import FLAVOURS  # every flavour the sandbox plays joins the matrices

__all__ = ["FLAVOURS", "Enricher", "Run", "payload"]


@dataclass
class Run:
    code: int
    result: dict[str, Any]
    stdout: str
    stderr: str
    waits: list[float]


class Enricher:
    def __init__(
        self,
        sandbox: Any,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.sb = sandbox
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.waits: list[float] = []
        self.count = 0
        monkeypatch.setattr(
            retry, "RetryPolicy", functools.partial(retry.RetryPolicy, sleep=self.waits.append)
        )
        monkeypatch.setattr(http, "make_session", functools.partial(http.make_session, timeout=(2.0, 1.0)))

    def env(self, **overrides: str | None) -> None:
        import os

        for name in list(os.environ):
            if name.startswith(("PORT_", "BITBUCKET_", "GITHUB_", "X_PORT", "x_port")) or name == "BUILD_URL":
                self.monkeypatch.delenv(name)
        for name, value in {**self.sb.env(), **overrides}.items():
            if value is not None:
                self.monkeypatch.setenv(name, value)

    def __call__(self, payload: dict[str, Any] | bytes | None, *args: str, **env: str | None) -> Run:
        self.count += 1
        self.env(**env)
        argv = ["enrich", "--json", "--result-file", str(self.tmp / f"result-{self.count}.json"), *args]
        if payload is not None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            path = self.tmp / f"payload-{self.count}.json"
            path.write_bytes(body)
            argv[1:1] = ["--payload", str(path)]
        self.capsys.readouterr()
        del self.waits[:]
        code = cli.main(argv)
        out = self.capsys.readouterr()
        result = json.loads((self.tmp / f"result-{self.count}.json").read_text())
        assert json.loads(out.out) == result, "--json prints the same object as --result-file"
        assert result["exit_code"] == code
        return Run(code, result, out.out, out.err, list(self.waits))


def payload(example: Any, **changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(example.payload))
    context = changes.pop("port_context", {})
    body["port_context"].update(context)
    body.update(changes)
    return body
