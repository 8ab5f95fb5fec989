"""The sandboxes answer any credential they do not know with 401, as the real services do: non-ASCII
text included (issue 12 D: `compare_digest` raised TypeError and the sandbox answered 500)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from port_gitops.sandbox import FLAVOURS, Sandbox
from port_gitops.sandbox.example import seed_example

API_PATH = {
    "bitbucket-cloud": "/2.0/repositories/acme/payments",
    "bitbucket-datacenter": "/rest/api/1.0/projects/ACME/repos/payments",
    "gitlab": "/api/v4/projects/acme%2Fpayments",
    "github": "/repos/acme/payments",
}
STRANGE = ["café", "πass", "トークン", "tok\u00e9n\u2028"]


@pytest.fixture(params=FLAVOURS)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(flavour=request.param) as sandbox:
        seed_example(sandbox)
        yield sandbox


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("secret", STRANGE)
def test_a_non_ascii_credential_is_401_never_500(sb: Sandbox, secret: str) -> None:
    url = sb.scm_url + API_PATH[sb.flavour]
    for header in [
        {"Authorization": b"Bearer " + secret.encode()},  # as raw bytes on the wire
        {"Authorization": basic(sb.scm.username, secret).encode()},
        {"Authorization": basic("x-token-auth", secret).encode()},
        {"PRIVATE-TOKEN": secret.encode()},  # GitLab's
    ]:
        answer = requests.get(url, headers=header, timeout=10)
        assert answer.status_code == 401, (header, answer.text[:200])
    good = {
        "gitlab": {"PRIVATE-TOKEN": sb.scm.token},
        "github": {"Authorization": sb.scm.access_header(sb.scm.token)},
    }.get(sb.flavour, {"Authorization": basic(sb.scm.username, sb.scm.token)})
    assert requests.get(url, headers=good, timeout=10).status_code == 200
    for client_id, client_secret in [(sb.port.client_id, secret), (secret, sb.port.client_secret)]:
        token = requests.post(
            sb.port_url + "/v1/auth/access_token",
            json={"clientId": client_id, "clientSecret": client_secret},
            timeout=10,
        )
        assert token.status_code == 401, token.text[:200]
