"""A throw-away certificate authority and a server certificate for 127.0.0.1/localhost, made with
the `openssl` command-line tool, for testing on-prem TLS (`--ca-bundle`, `REQUESTS_CA_BUNDLE`).

A real CA plus a leaf (not one self-signed leaf) so that strict verifiers accept the chain too.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
_CONFIG = "[req]\ndistinguished_name = dn\n[dn]\n"  # keeps the host's openssl.cnf out of it
_LEAF_EXTENSIONS = """\
subjectAltName = IP:127.0.0.1, DNS:localhost
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
"""


def make_server_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server-side SSL context for 127.0.0.1, and the CA bundle a client must trust for it."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise RuntimeError("the sandbox's TLS mode needs the openssl command-line tool on PATH")
    directory.mkdir(parents=True, exist_ok=True)
    config, extensions = directory / "openssl.cnf", directory / "leaf.ext"
    config.write_text(_CONFIG, encoding="ascii")
    extensions.write_text(_LEAF_EXTENSIONS, encoding="ascii")
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"

    def run(*args: str) -> None:
        done = subprocess.run([openssl, *args], capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()}")

    run("req", "-config", str(config), "-x509", "-new", *_EC, "-keyout", str(ca_key), "-out", str(ca_cert),
        "-days", "2", "-subj", "/CN=port-gitops sandbox CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")  # fmt: skip
    run(
        "req",
        "-config",
        str(config),
        "-new",
        *_EC,
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-set_serial", "1",
        "-days", "2", "-out", str(cert), "-extfile", str(extensions))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context, ca_cert
