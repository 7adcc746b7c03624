"""`make bench`: every benchmark of Reservas in one run, printed as one markdown table.

    .venv/bin/python bench/report.py [--quick] [--only cold,handlers,warm,local,availability,race]

Each section runs in a process of its own, with its own PostgreSQL and Redis where it needs them, one
after the other (never two at once: they would skew each other's figures):

1. cold start        bench/cold_start.py   built functions imported by fresh interpreters
2. handlers          bench/handlers.py     warm p50/p95 of every route, in process
   warm              bench/warm_path.py    cached reads and login against a trivial route; the profile
3. local             bench/local_api_load.py    a read-heavy mix over HTTP, 8 and 32 clients
4. availability      bench/availability.py availability at 1,000,000 reservations
5. race              bench/local_api_load.py    the race checker, Reservas and the naive baseline

Every figure is a median of repeated runs; every ratio compares figures of the same run. The table and
its notes are printed and written to docs/benchmarks.md with the machine they were measured on; each
section's full output goes to a log folder under /tmp, named at the end.

Exit status 1 when a function's cold start is over budget (or loads boto3, botocore.session or
redis.asyncio at init), an availability target is missed, the local API answers a 5xx under load, or
the race checker finds a double booking, a lost booking, a wrong status or a 5xx in Reservas (the naive
baseline's double bookings are expected and only reported); also when a section fails to run.

What the section scripts share (Result, summarise, ...) is in bench/common.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.common import Result, Row, markdown_table  # noqa: E402

BENCH = ROOT / "bench"
REPORT = ROOT / "docs" / "benchmarks.md"


# --- the sections ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    command: list[str]
    timeout_s: int


def sections(quick: bool) -> list[Section]:
    python = sys.executable
    return [
        Section(
            "cold",
            "Cold start",
            [python, "-u", str(BENCH / "cold_start.py"), *(["--rounds", "5"] if quick else [])],
            600,
        ),
        Section(
            "handlers",
            "Warm handler",
            [
                python,
                "-u",
                str(BENCH / "handlers.py"),
                *(["--runs", "20", "--slow-runs", "3", "--repeats", "2"] if quick else []),
            ],
            900,
        ),
        Section(
            "warm",
            "Warm path",
            [
                python,
                "-u",
                str(BENCH / "warm_path.py"),
                *(["--runs", "100", "--login-runs", "6", "--profile-runs", "100"] if quick else []),
            ],
            600,
        ),
        Section(
            "local",
            "Local API",
            [
                python,
                "-u",
                str(BENCH / "local_api_load.py"),
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
                str(BENCH / "availability.py"),
                *(["--reservations", "100000", "--runs", "200"] if quick else []),
            ],
            900,
        ),
        Section(
            "race",
            "Race checker",
            [
                python,
                "-u",
                str(BENCH / "local_api_load.py"),
                "race",
                *(["--clients", "8", "--operations", "15"] if quick else []),
            ],
            600,
        ),
    ]


def run_section(section: Section, logs: Path, quick: bool) -> tuple[Result, float]:
    log = logs / f"{section.key}.log"
    result_file = logs / f"{section.key}.json"
    command = [*section.command, "--json", str(result_file)]
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
    elif result_file.exists():
        result = Result.load(result_file)
        if returncode and not result.failures:
            result.failures.append(f"{section.title}: exited with status {returncode}")
    else:
        tail = " / ".join(line for line in output.splitlines()[-5:] if line.strip())
        result = Result(failures=[f"{section.title}: crashed (exit {returncode}): {tail}"])
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
        "--only", default="", help="comma-separated sections: cold, handlers, warm, local, availability, race"
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
    tables: list[str] = []
    failures: list[str] = []
    meta: dict[str, str] = {}
    durations = []
    for section in chosen:
        result, seconds = run_section(section, logs, args.quick)
        rows += result.rows
        notes += result.notes
        tables += result.tables
        failures += result.failures
        meta.update({k: v for k, v in result.meta.items() if v})
        durations.append(f"{section.key} {seconds:.0f} s")
    total = time.perf_counter() - started
    notes.append(f"Time per section: {', '.join(durations)}. Logs of this run: {logs}.")

    mode = " (--quick: fewer rounds, 100k reservations; not for comparison)" if args.quick else ""
    document = [
        f"# Benchmarks{mode}",
        "",
        "Written by `make bench` (`bench/report.py`); every figure below comes from the run described "
        "here. Medians are over repeated runs; ratios compare figures of the same run. How each section "
        "measures is described in the docstring of its script (`bench/*.py`).",
        "",
        *machine_lines(meta, load_before, load_average(), total),
        "",
        markdown_table(rows),
        "",
        "Notes:",
        "",
        *(f"- {note}" for note in notes),
        *(line for table in tables for line in ("", table)),
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
