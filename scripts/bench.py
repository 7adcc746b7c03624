"""`make bench`: every benchmark of Reservas in one run, printed as one markdown table.

    .venv/bin/python scripts/bench.py [--quick] [--only cold,handlers,local,availability,race]

Each section runs in a process of its own, with its own PostgreSQL and Redis where it needs them, one
after the other (never two at once: they would skew each other's figures):

1. cold start        scripts/bench_cold_start.py   built functions imported by fresh interpreters
2. handlers          scripts/bench_handlers.py     warm p50/p95 of every route, in process
3. local             scripts/bench_local_api.py    a read-heavy mix over HTTP, 8 and 32 clients
4. availability      scripts/bench_availability.py availability at 1,000,000 reservations
5. race              scripts/bench_local_api.py    the race checker, Reservas and the naive baseline

Every figure is a median of repeated runs; every ratio compares figures of the same run. The table and
its notes are printed and written to docs/benchmarks.md with the machine they were measured on; each
section's full output goes to a log folder under /tmp, named at the end.

Exit status 1 when a function's cold start is over budget (or loads boto3, botocore.session or
redis.asyncio at init), an availability target is missed, the local API answers a 5xx under load, or
the race checker finds a double booking, a lost booking, a wrong status or a 5xx in Reservas (the naive
baseline's double bookings are expected and only reported); also when a section fails to run.

The section scripts import the small helpers below (Result, summarise), so keep this module's imports
light: nothing from the project at module level.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
REPORT = ROOT / "docs" / "benchmarks.md"


# --- helpers shared with the section scripts ---------------------------------------------------------


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (1..99), inclusive method; the sample itself when there is only one."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def summarise(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) of the samples."""
    return statistics.median(samples), percentile(samples, 95)


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
    """What a section script hands back: table rows, notes, failures (each a sentence) and facts about
    the machine (PostgreSQL and Redis versions)."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

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
        )

    def print_markdown(self) -> None:
        print(markdown_table(self.rows))
        for note in self.notes:
            print(f"- {note}")
        for failure in self.failures:
            print(f"FAILED: {failure}")


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| section | measure | median | p95 | ratio / verdict |",
        "|---|---|---:|---:|---|",
    ]
    lines += [f"| {r.section} | {r.measure} | {r.median} | {r.p95} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


# --- the sections ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    command: list[str]
    timeout_s: int
    structured: bool = True  # writes a Result to --json; else its output is parsed


def sections(quick: bool) -> list[Section]:
    python = sys.executable
    return [
        Section(
            "cold",
            "Cold start",
            [python, "-u", str(SCRIPTS / "bench_cold_start.py"), *(["--rounds", "5"] if quick else [])],
            600,
        ),
        Section(
            "handlers",
            "Warm handler",
            [
                python,
                "-u",
                str(SCRIPTS / "bench_handlers.py"),
                *(["--runs", "20", "--slow-runs", "3", "--repeats", "2"] if quick else []),
            ],
            900,
        ),
        Section(
            "local",
            "Local API",
            [
                python,
                "-u",
                str(SCRIPTS / "bench_local_api.py"),
                "load",
                *(["--seconds", "2"] if quick else []),
            ],
            600,
        ),
        Section(
            "availability",
            "Availability",
            [
                python,
                "-u",
                str(SCRIPTS / "bench_availability.py"),
                *(["--reservations", "100000", "--runs", "200"] if quick else []),
            ],
            900,
            structured=False,
        ),
        Section(
            "race",
            "Race checker",
            [
                python,
                "-u",
                str(SCRIPTS / "bench_local_api.py"),
                "race",
                *(["--clients", "8", "--operations", "15"] if quick else []),
            ],
            600,
        ),
    ]


AVAILABILITY_ROW = re.compile(
    r"^\| (?P<measure>availability[^|]*?) \| (?P<target>[^|]*?) \| (?P<p50>[\d.]+) \| (?P<p95>[\d.]+) "
    r"\| (?P<p99>[\d.]+) \| (?P<verdict>[^|]*?) \|$"
)


def parse_availability(output: str, returncode: int, quick: bool) -> Result:
    """scripts/bench_availability.py prints its own table; its exit status says whether it passed."""
    result = Result()
    title = "Availability, 100k" if quick else "Availability, 1M"
    runs = 200 if quick else 500
    for line in output.splitlines():
        match = AVAILABILITY_ROW.match(line.strip())
        if match:
            target = match["target"].strip()
            verdict = match["verdict"].strip()
            result.rows.append(
                Row(
                    title,
                    match["measure"].removeprefix("availability, ") + f" ({runs} runs)",
                    f"{float(match['p50']):.3f} ms",
                    f"{float(match['p95']):.3f} ms",
                    verdict if target == "-" else f"{verdict} ({target})",
                )
            )
        elif line.startswith("- plan uses GiST index"):
            uses = ": yes" in line
            detail = line.split("(", 1)[1].rsplit(")", 1)[0] if "(" in line else ""
            result.rows.append(
                Row(
                    title,
                    "plan of busy_intervals uses the GiST index",
                    "yes" if uses else "no",
                    "-",
                    ("pass" if uses else "FAIL") + (f" ({detail.split(';')[0]})" if detail else ""),
                )
            )
        elif line.startswith(("- reservations:", "- busy intervals", "- load time:", "- SQL statements")):
            result.notes.append("Availability: " + line[2:])
        elif line.startswith("- PostgreSQL:"):
            result.meta["postgresql"] = line[len("- PostgreSQL: ") :].split(" (")[0]
        elif line.startswith("FAILED:"):
            result.failures.append("availability: " + line[len("FAILED: ") :])
    if not any(r.measure.startswith("plan") for r in result.rows) or len(result.rows) < 4:
        result.failures.append("availability: its table could not be read from the output (see its log)")
    if returncode and not result.failures:
        result.failures.append(f"availability: scripts/bench_availability.py exited with {returncode}")
    return result


def run_section(section: Section, logs: Path, quick: bool) -> tuple[Result, float]:
    log = logs / f"{section.key}.log"
    result_file = logs / f"{section.key}.json"
    command = [*section.command, *(["--json", str(result_file)] if section.structured else [])]
    started = time.perf_counter()
    print(
        f"[bench] {section.title}: {' '.join(Path(c).name if '/' in c else c for c in command[1:])}",
        file=sys.stderr,
        flush=True,
    )
    # Each section starts a PostgreSQL and a Redis of its own: none adopts DATABASE_URL or REDIS_URL
    # (the availability benchmark needs an empty database, the others write to theirs).
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    with log.open("w") as out:
        try:
            completed = subprocess.run(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=section.timeout_s
            )
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            returncode = None
    seconds = time.perf_counter() - started
    output = log.read_text(errors="replace")
    if returncode is None:
        result = Result(failures=[f"{section.title}: did not finish within {section.timeout_s} s"])
    elif section.structured:
        if result_file.exists():
            result = Result.load(result_file)
            if returncode and not result.failures:
                result.failures.append(f"{section.title}: exited with status {returncode}")
        else:
            tail = " / ".join(line for line in output.splitlines()[-5:] if line.strip())
            result = Result(failures=[f"{section.title}: crashed (exit {returncode}): {tail}"])
    else:
        result = parse_availability(output, returncode, quick)
    state = "FAILED" if result.failures else "done"
    print(f"[bench] {section.title}: {state} in {seconds:.0f} s (log: {log})", file=sys.stderr, flush=True)
    return result, seconds


# --- the machine -------------------------------------------------------------------------------------


def cpu_model() -> str:
    if shutil.which("lscpu"):
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in output.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def redis_version() -> str:
    executable = shutil.which("redis-server")
    if not executable:
        return "no redis-server on PATH"
    output = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"v=(\S+)", output)
    return f"redis-server {match[1]}" if match else output.strip()


def git_commit() -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "unknown"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_lines(meta: dict[str, str], load_before: str, load_after: str, seconds: float) -> list[str]:
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; commit {git_commit()} "
        "(plus whatever was uncommitted in the working tree)",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()})",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- PostgreSQL: {meta.get('postgresql', 'unknown')}",
        f"- Redis: {meta.get('redis') or redis_version()}",
        f"- load average (1/5/15 min): {load_before} before, {load_after} after; "
        f"the whole run took {seconds / 60:.1f} min",
    ]


# --- main --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and 100k reservations")
    parser.add_argument(
        "--only", default="", help="comma-separated sections: cold, handlers, local, availability, race"
    )
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the markdown")
    args = parser.parse_args()
    chosen = [s for s in sections(args.quick) if not args.only or s.key in args.only.split(",")]
    if not chosen:
        parser.error("--only names no known section")

    logs = Path(tempfile.mkdtemp(prefix="reservas-bench-"))
    load_before = load_average()
    started = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    failures: list[str] = []
    meta: dict[str, str] = {}
    durations = []
    for section in chosen:
        result, seconds = run_section(section, logs, args.quick)
        rows += result.rows
        notes += result.notes
        failures += result.failures
        meta.update({k: v for k, v in result.meta.items() if v})
        durations.append(f"{section.key} {seconds:.0f} s")
    total = time.perf_counter() - started
    notes.append(f"Time per section: {', '.join(durations)}. Logs of this run: {logs}.")

    mode = " (--quick: fewer rounds, 100k reservations; not for comparison)" if args.quick else ""
    document = [
        f"# Benchmarks{mode}",
        "",
        "Written by `make bench` (`scripts/bench.py`); every figure below comes from the run described "
        "here. Medians are over repeated runs; ratios compare figures of the same run. How each section "
        "measures is described in the docstring of its script (`scripts/bench_*.py`).",
        "",
        *machine_lines(meta, load_before, load_average(), total),
        "",
        markdown_table(rows),
        "",
        "Notes:",
        "",
        *(f"- {note}" for note in notes),
    ]
    if failures:
        document += ["", "Failed:", "", *(f"- {failure}" for failure in failures)]
    else:
        document += ["", "Every budget and target above was met."]
    text = "\n".join(document) + "\n"
    print(text)
    if set(s.key for s in chosen) == {s.key for s in sections(args.quick)} or args.output != REPORT:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"(written to {args.output})", file=sys.stderr)
    else:
        print(f"(--only: {REPORT.relative_to(ROOT)} left as it was)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
