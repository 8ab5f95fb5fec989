"""What the REST endpoints of both Bitbucket sandboxes share: finding the handler for a request in a
flavour's routing table. Each flavour keeps its URL layout, its error shape and its endpoints
(`bitbucket_cloud_api`, `bitbucket_datacenter_api`)."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Optional

from port_gitops.sandbox.server import Request, Response

Handler = Callable[..., Response]
Route = tuple[str, re.Pattern[str], Handler]  # (method, pattern on the rest of the path, handler)


def dispatch(
    routes: Iterable[Route], request: Request, rest: str, *args: Any, refuse: Callable[..., Response]
) -> Optional[Response]:
    """The answer of the first route whose pattern matches `rest` and whose method is the request's,
    called as `handler(request, *args, **groups)`. When only other methods match: the 405 that
    `refuse` (the flavour's error shape) builds, with `Allow` naming them. None when nothing matches,
    so the flavour answers its own 404."""
    allowed = []
    for method, pattern, handler in routes:
        match = pattern.fullmatch(rest)
        if match:
            if method == request.method:
                return handler(request, *args, **match.groupdict())
            allowed.append(method)
    if allowed:
        return refuse(
            405, f"Method {request.method} is not allowed here", headers={"Allow": ", ".join(allowed)}
        )
    return None
