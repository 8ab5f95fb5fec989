"""The measurements as markdown tables, each target beside its measurement with ✓/✗."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, Union

from enrichments import SCENARIOS, Enrichment, FlavourResult
from processes import median
from sizes import MB, SizeResult

FLAVOURS = (
    ("bitbucket-cloud", "Bitbucket Cloud"),
    ("bitbucket-datacenter", "Bitbucket Data Center"),
    ("github", "GitHub"),
    ("gitlab", "GitLab"),
)
FLAT_SPREAD = 1.25  # "flat": the slowest size's median within 25 % of the fastest's


@dataclass(frozen=True)
class Measurements:
    flavours: Mapping[str, Union[FlavourResult, str]]  # a string says why there is no measurement
    help_seconds: list[float]
    help_command: str
    sizes: list[SizeResult]


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def span(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


Cell = Callable[[FlavourResult], str]


def _requests(label: str, limit: Optional[int], zero_writes: bool = False) -> Cell:
    def cell(result: FlavourResult) -> str:
        runs = result.runs[label]
        counts, writes = [len(run.bitbucket) for run in runs], [run.writes for run in runs]
        text = f"{span(counts)} ({span(writes)} writes)"
        if limit is None:
            return text
        return f"{text} {mark(max(counts) <= limit and (not zero_writes or max(writes) == 0))}"

    return cell


def _port(result: FlavourResult) -> str:
    runs = result.all
    tokens = [run.tokens for run in runs]
    return f"{span([len(run.port) for run in runs])} ({span(tokens)} token) {mark(set(tokens) == {1})}"


def _wall(result: FlavourResult) -> str:
    medians = [median([run.seconds for run in result.runs[label]]) for label, _, _ in SCENARIOS]
    return " / ".join(f"{value:.2f}" for value in medians) + f" s {mark(max(medians) <= 1.5)}"


def _rss(result: FlavourResult) -> str:
    peak = max(run.max_rss_mb for run in result.all)
    return f"{peak:.0f} MB {mark(peak <= 80)}"


def enrichment_table(m: Measurements, runs: int) -> str:
    first, unchanged, changed = (label for label, _, _ in SCENARIOS)
    rows: list[tuple[str, Cell, str]] = [
        (f"Bitbucket requests, {first} (created)", _requests(first, 7), "≤ 7"),
        (f"Bitbucket requests, {unchanged}", _requests(unchanged, 6, zero_writes=True), "≤ 6, 0 writes"),
        (f"Bitbucket requests, {changed} (updated)", _requests(changed, None), "—"),
        ("Port requests per run (token requests)", _port, "1 token per run"),
        (f"wall time per enrichment, {first} / {unchanged} / {changed} (median of {runs})", _wall, "≤ 1.5 s"),
        ("peak RSS of an enrich process", _rss, "≤ 80 MB"),
    ]
    body = []
    for name, cell, target in rows:
        values = [
            result if isinstance(result, str) else cell(result)
            for result in (m.flavours[key] for key, _ in FLAVOURS)
        ]
        body.append([name, *values, target])
    help_median = median(m.help_seconds) * 1000
    body.append(
        [
            f"`{m.help_command}` cold start, whole process (median of {len(m.help_seconds)})",
            f"{help_median:.0f} ms {mark(help_median <= 150)}",
            "(same command)",
            "≤ 150 ms",
        ]
    )
    return table(["measure", *(title for _, title in FLAVOURS), "target"], body)


def size_table(sizes: Sequence[SizeResult]) -> str:
    rows, tool_medians, request_counts = [], [], set()
    for size in sizes:
        baseline, tool = median(size.baseline_seconds), median([run.seconds for run in size.enrichments])
        tool_medians.append(tool)
        counts = [len(run.bitbucket) for run in size.enrichments]
        request_counts.update(counts)
        rows.append(
            [
                size.label,
                f"{size.pack_bytes / MB:.1f} MB",
                f"{baseline:.2f} s (median of {len(size.baseline_seconds)})",
                f"{tool:.2f} s (median of {len(size.enrichments)})",
                span(counts),
                f"{baseline / tool:.1f}x",
            ]
        )
    flat = max(tool_medians) / min(tool_medians)
    largest = sizes[-1]
    ratio = median(largest.baseline_seconds) / median([run.seconds for run in largest.enrichments])
    header = [
        "history",
        "pack",
        "clone + edit + commit + push",
        "port-gitops enrich (first run)",
        "Bitbucket requests",
        "ratio",
    ]
    verdicts = [
        f"- flat cost in repository size: enrich time slowest/fastest = {flat:.2f} (target ≤ {FLAT_SPREAD}),"
        f" Bitbucket requests {span(sorted(request_counts))} at every size"
        f" {mark(flat <= FLAT_SPREAD and len(request_counts) == 1)}",
        f"- ≥ 50x faster than the clone baseline at {largest.label}: {ratio:.1f}x {mark(ratio >= 50)}"
        f" (the baseline moved its {largest.pack_bytes / MB:.0f} MB pack over loopback at"
        f" {largest.pack_bytes / MB / median(largest.baseline_seconds):.0f} MB/s, clone to push)",
    ]
    return table(header, rows) + "\n\n" + "\n".join(verdicts)


def request_lists(flavours: Mapping[str, Union[FlavourResult, str]]) -> str:
    """What was counted: the requests of the first service, per flavour and scenario."""
    lines = []
    for key, title in FLAVOURS:
        result = flavours[key]
        if isinstance(result, str):
            continue
        for label, _, _ in SCENARIOS:
            run: Enrichment = result.runs[label][0]
            requests = ", ".join(f"{request.method} {request.path}" for request in run.bitbucket)
            lines.append(f"- {title}, {label}: {requests}")
    return "\n".join(lines)
