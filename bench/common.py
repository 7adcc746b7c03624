"""What the benchmarks share: percentiles, the rows they report and the Result each writes as JSON for
bench/report.py. Light on purpose: nothing from the project is imported here."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (1..99), inclusive method; the sample itself when there is only one."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def summarise(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) of the samples."""
    return statistics.median(samples), percentile(samples, 95)


def size_label(count: int) -> str:
    """100000 -> "100k", 10000000 -> "10M"."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:g}M"
    return f"{count / 1000:g}k"


def fmt_ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    if milliseconds >= 100:
        return f"{milliseconds:.0f} ms"
    if milliseconds >= 10:
        return f"{milliseconds:.1f} ms"
    return f"{milliseconds:.2f} ms"


@dataclass
class Row:
    section: str
    measure: str
    median: str
    p95: str = "-"
    verdict: str = "-"


@dataclass
class Result:
    """What a section script hands back: table rows, notes, failures (each a sentence), facts about
    the machine (PostgreSQL and Redis versions), the raw timings bench/plots.py draws (in ms, by plot,
    then by line: {"Warm handler": {"GET /spaces": [...]}}) and markdown blocks for the end of the
    report (query plans)."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)  # blocks of markdown of their own, after the notes
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def save(self, path: str | Path | None) -> None:
        if path:
            Path(path).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Result:
        data = json.loads(path.read_text())
        return cls(
            rows=[Row(**row) for row in data["rows"]],
            notes=data["notes"],
            failures=data["failures"],
            meta=data["meta"],
            tables=data.get("tables", []),
            samples=data.get("samples", {}),
        )

    def print_markdown(self) -> None:
        print(markdown_table(self.rows))
        for note in self.notes:
            print(f"- {note}")
        for table in self.tables:
            print(f"\n{table}\n")
        for failure in self.failures:
            print(f"FAILED: {failure}")


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| section | measure | median | p95 | ratio / verdict |",
        "|---|---|---:|---:|---|",
    ]
    lines += [f"| {r.section} | {r.measure} | {r.median} | {r.p95} | {r.verdict} |" for r in rows]
    return "\n".join(lines)
