"""Cold start of each API function as Lambda builds it: a fresh interpreter imports the handler module,
then serves its first request; and the same with SnapStart's before-snapshot work.

    .venv/bin/python bench/cold_start.py [--rounds 15] [--no-build] [--json result.json]

1. `sam build` when .aws-sam/build is missing or older than the sources (or with --rebuild), then
   `python -m compileall` over .aws-sam/build: Lambda layers are read-only, so a layer without .pyc
   files compiles every module it imports on every cold start.
2. A PostgreSQL and a Redis of the benchmark's own (devtools/devservices.py), migrated, with one account
   and a session made directly in the database, for the first requests.
3. Candidates, each measured by a fresh `python -S -c ...` whose sys.path is a function's build folder
   plus .aws-sam/build/CommonLayer/python and the standard library: nothing from the source tree or
   the virtualenv. The child times its own work with time.perf_counter, in the environment
   devservices.configure_environment gives local runs (RESERVAS_STAGE=local, metrics off).
   - `python -S -c pass`: the interpreter alone (wall time of the whole subprocess);
   - `import fastapi, mangum`, and `import fastapi, mangum, sqlalchemy, pg8000`: the BUDGET base, what
     any FastAPI-on-Lambda function with this database driver pays;
   - the base again, paired with the base like a function: the noise check (its paired ratio would be
     1.00 on a quiet machine; how far it is from 1.00 is how far a function's ratio can move by chance);
   - a naive import of every runtime dependency in layers/common/requirements.txt;
   - each API function's init (`import app`, which builds its FastAPI app and its handler), then its
     first request, a typical one (FIRST_REQUESTS), timed apart: what init leaves for later is paid
     there, and shows;
   - each API function with SnapStart: init, then `snapstart.before_snapshot()` (what it loads and
     builds eagerly), timed together: paid once, when the version is published, not per cold start
     (informative); then, as a restored instance, `snapstart.after_restore()` and the first request;
   - AuthFunction's `import app` from a copy of the build without any .pyc (every third round).
   Rounds go over every candidate in a new random order each time, after one untimed round, so that
   noise on the machine falls on all of them alike. The figures are medians over the rounds.
4. Budget (issue #20): without SnapStart, a function's init costs what the framework's own imports
   cost, 1.0x the base: its paired ratio (the median, over the rounds, of its init divided by the base
   measured next to it in the same round) at most BUDGET_RATIO + TOLERANCE. The tolerance (0.03) is the
   measurement's, not the budget's: on the shared 2-core machine the benchmarks run on, the noise
   check's paired ratio lands up to about 3% from 1.00 from one run to the next, so a ratio up to 1.03
   cannot be told from 1.0x, and reads as 1.0x. Also none of boto3, botocore.session or redis.asyncio
   in sys.modules after init. Init plus the first request is reported against the same base, so that
   work moved from init to the first request is seen, not hidden; it is not held to the budget (it
   includes connecting to PostgreSQL and Redis, which no init does). The ratio of the plain medians is
   shown too; on a shared machine a slow spell can land on one candidate's runs and not the other's,
   which the paired ratio does not suffer.
5. `python -X importtime` of AuthFunction's init is saved to docs/importtime-auth.txt, and its top 15
   cumulative entries summarised ("where the time goes").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.common import Result, Row, fmt_ms, summarise  # noqa: E402
from devtools import devservices  # noqa: E402
from devtools.apigw import LambdaContext, v2_event  # noqa: E402
from devtools.build import built_architecture, host_architecture, sam_build  # noqa: E402

BUILD = ROOT / ".aws-sam" / "build"
LAYER = BUILD / "CommonLayer" / "python"
REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
IMPORTTIME_FILE = ROOT / "docs" / "importtime-auth.txt"
FUNCTIONS = ("AuthFunction", "UsersFunction", "SpacesFunction", "ReservationsFunction")
SOURCES = (ROOT / "functions", ROOT / "layers" / "common", ROOT / "template.yaml")
BUDGET_RATIO = 1.0
TOLERANCE = 0.03  # the measurement's (see the docstring, 4.)
MUST_NOT_LOAD = ("boto3", "botocore.session", "redis.asyncio")
SECTION = "Cold start"
# Each function's first request: a typical one, answered from PostgreSQL (and Redis). "{token}" is an
# access token of the benchmark's account.
FIRST_REQUESTS: dict[str, tuple[str, str, dict[str, Any] | None, bool]] = {
    "AuthFunction": ("POST", "/auth/validate", {"token": "{token}"}, False),
    "UsersFunction": ("GET", "/users/me", None, True),
    "SpacesFunction": ("GET", "/spaces", None, False),
    "ReservationsFunction": ("GET", "/reservations", None, True),
}
SNAPSHOT = "from reservas import snapstart\nsnapstart.before_snapshot()"

# Distribution name -> the module its users import (when the two differ).
MODULE_OF = {
    "pyjwt": "jwt",
    "aws-lambda-powertools": "aws_lambda_powertools",
    "aws-xray-sdk": "aws_xray_sdk.core",
    "email-validator": "email_validator",
    "pydantic-settings": "pydantic_settings",
    "python-dateutil": "dateutil.rrule",
}

CHILD = """
import sys, time, json
sys.path[:] = {paths!r} + [p for p in sys.path if p]
started = time.perf_counter()
{statement}
elapsed = time.perf_counter() - started
loaded, modules = [m for m in {watch!r} if m in sys.modules], len(sys.modules)
first = status = None
if {request!r}:
    request = json.loads({request!r})
    started = time.perf_counter()
    {restore}
    status = app.handler(request["event"], Context(**request["context"]))["statusCode"]
    first = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "loaded": loaded, "modules": modules, "first": first,
                  "status": status}}), flush=True)
import os
os._exit(0)  # no interpreter teardown (~0.1 s with 700 modules): a cold start never pays it
"""

CONTEXT = """
class Context:  # what Lambda hands a handler, as far as Powertools and Mangum read it
    def __init__(self, **attributes):
        self.__dict__.update(attributes)
    def get_remaining_time_in_millis(self):
        return 15000
"""


@dataclass
class Candidate:
    name: str
    statement: str | None  # None: time the whole subprocess (the bare interpreter)
    paths: list[Path]
    cwd: Path
    every: int = 1  # measured in every n-th round only
    function: bool = False  # one of FUNCTIONS, held to the budget
    paired_with_base: bool = False  # measured next to the base in every round (functions, noise check)
    snapstart: bool = False  # init includes before_snapshot; the first request follows after_restore
    request: Callable[[], dict[str, Any]] | None = None  # makes the first request: {"event", "context"}
    samples: list[float] = field(default_factory=list)
    firsts: list[float] = field(default_factory=list)  # the first request after init
    paired: list[float] = field(default_factory=list)  # this / the base measured next to it
    paired_total: list[float] = field(default_factory=list)  # (this + its first request) / that base
    walls: list[float] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)
    statuses: set[int] = field(default_factory=set)
    modules: int = 0

    def code(self) -> str:
        if self.statement is None:
            return "pass"
        request = json.dumps(self.request()) if self.request else ""
        restore = "snapstart.after_restore()" if self.snapstart else "pass"
        return CONTEXT + CHILD.format(
            paths=[str(p) for p in self.paths],
            statement=self.statement,
            watch=list(MUST_NOT_LOAD),
            request=request,
            restore=restore,
        )


SETTINGS: dict[str, str] = {}  # what devservices.configure_environment set (start_services)


def child_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **SETTINGS,
        "PYTHONDONTWRITEBYTECODE": "1",  # the no-.pyc candidate must stay without them
    }


# --- the first requests' PostgreSQL, Redis and account ----------------------------------------------


def start_services() -> tuple[devservices.Services, str]:
    """PostgreSQL and Redis, migrated, the children's settings (SETTINGS), and an access token of an
    account made directly in the database (what a login does, minus bcrypt)."""
    services = devservices.start(data_dir=None, allow_fake_redis=False)
    before = dict(os.environ)
    devservices.configure_environment(services, secrets.token_urlsafe(48))
    SETTINGS.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    sys.path.insert(1, str(ROOT / "layers" / "common"))
    from reservas.accounts import repository
    from reservas.database import get_engine
    from reservas.migrations import upgrade
    from reservas.passwords import hash_password
    from reservas.tokens import issue_access_token

    upgrade(get_engine())
    with get_engine().begin() as connection:
        user = repository.insert_user(
            connection,
            email="bench-cold@example.com",
            password_hash=hash_password("Cold-Start-9"),
            name="Cold",
        )
        assert user is not None
        session_id = repository.insert_session(
            connection, user_id=user["id"], expires_at=datetime.now(UTC) + timedelta(days=1)
        )
        token = issue_access_token(user["id"], user["email"], user["role"], session_id)
    get_engine().dispose()
    return services, token


def first_request(function: str, token: str) -> dict[str, Any]:
    method, path, body, signed_in = FIRST_REQUESTS[function]
    if body is not None:
        body = {key: value.replace("{token}", token) for key, value in body.items()}
    # A client address of its own for each child: the rate limits count per address.
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    event = v2_event(
        method,
        path,
        body=body,
        headers={"authorization": f"Bearer {token}"} if signed_in else None,
        source_ip=address,
        request_id=str(uuid.uuid4()),
    )
    context = LambdaContext(function)
    return {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "function_version": context.function_version,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        },
    }


# --- build -------------------------------------------------------------------------------------------


def newest_source_mtime() -> float:
    newest = 0.0
    for source in SOURCES:
        files = [source] if source.is_file() else source.rglob("*")
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_build(rebuild: bool) -> str:
    marker = BUILD / "template.yaml"
    missing = not all((BUILD / name / "app.py").exists() for name in FUNCTIONS) or not LAYER.is_dir()
    stale = not missing and marker.stat().st_mtime < newest_source_mtime()
    elsewhere = not missing and built_architecture() != host_architecture()  # this Python cannot load it
    if not (rebuild or missing or stale or elsewhere):
        return "kept the existing .aws-sam/build (newer than every source)"
    reason = (
        "--rebuild"
        if rebuild
        else "missing"
        if missing
        else "older than the sources"
        if stale
        else f"built for {built_architecture()}"
    )
    print(f"sam build for {host_architecture()} ({reason})...", flush=True)
    started = time.perf_counter()
    built = sam_build(host_architecture(), compile_it=False)
    if built.returncode != 0:
        raise SystemExit(built.stdout[-3000:] + built.stderr[-3000:])
    return f"ran `sam build` for {host_architecture()} ({reason}, {time.perf_counter() - started:.0f} s)"


def compile_build() -> tuple[int, float]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(BUILD)], check=True)
    return sum(1 for _ in BUILD.rglob("*.pyc")), time.perf_counter() - started


def copy_without_pyc(destination: Path) -> tuple[Path, Path]:
    """AuthFunction and the layer as `sam build` leaves them: sources only."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    function = shutil.copytree(BUILD / "AuthFunction", destination / "AuthFunction", ignore=ignore)
    layer = shutil.copytree(LAYER, destination / "CommonLayer" / "python", ignore=ignore)
    return Path(function), Path(layer)


# --- candidates ----------------------------------------------------------------------------------------


def runtime_modules() -> list[str]:
    modules = []
    for line in REQUIREMENTS.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement:
            continue
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip()
        modules.append(MODULE_OF.get(name.lower(), name.lower().replace("-", "_")))
    return modules


def candidates(no_pyc: tuple[Path, Path], token: str) -> tuple[list[Candidate], Candidate]:
    dependencies = runtime_modules()
    base = Candidate(
        "import fastapi, mangum, sqlalchemy, pg8000 (BUDGET base)",
        "import fastapi, mangum, sqlalchemy, pg8000",
        [LAYER],
        BUILD,
    )
    found = [
        Candidate("`python -S -c pass` (the interpreter; subprocess wall time)", None, [], BUILD),
        Candidate("import fastapi, mangum", "import fastapi, mangum", [LAYER], BUILD),
        base,
        Candidate(
            "the base again, paired with the base (noise check)",
            base.statement,
            [LAYER],
            BUILD,
            paired_with_base=True,
        ),
        Candidate(
            f"naive: import all {len(dependencies)} runtime dependencies of requirements.txt",
            "import " + ", ".join(dependencies),
            [LAYER],
            BUILD,
        ),
    ]
    for name in FUNCTIONS:

        def request(name: str = name) -> dict[str, Any]:
            return first_request(name, token)

        paths = [BUILD / name, LAYER]
        found.append(
            Candidate(
                f"{name} init (`import app`)",
                "import app",
                paths,
                BUILD / name,
                function=True,
                paired_with_base=True,
                request=request,
            )
        )
        found.append(
            Candidate(
                f"{name} with SnapStart: init + before_snapshot",
                "import app\n" + SNAPSHOT,
                paths,
                BUILD / name,
                snapstart=True,
                request=request,
            )
        )
    function, layer = no_pyc
    found.append(
        Candidate(
            "AuthFunction init without any .pyc (informative)",
            "import app",
            [function, layer],
            function,
            every=3,
        )
    )
    return found, base


def measure(candidate: Candidate, *, record: bool) -> None:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-S", "-c", candidate.code()],
        cwd=candidate.cwd,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if completed.returncode:
        raise RuntimeError(f"{candidate.name} failed:\n{completed.stderr}")
    if not record:
        return
    candidate.walls.append(wall)
    if candidate.statement is None:
        candidate.samples.append(wall)
        return
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    candidate.samples.append(report["seconds"])
    candidate.loaded.update(report["loaded"])
    candidate.modules = report["modules"]
    if report["first"] is not None:
        candidate.firsts.append(report["first"])
        candidate.statuses.add(report["status"])


def run_rounds(found: list[Candidate], base: Candidate, rounds: int) -> None:
    """Each round: every candidate in a new random order, the base measured once more right next to each
    function and the noise check (which of the two goes first is random too), so that each has a ratio
    to a base measured seconds apart, as a check on the ratio of the medians."""
    rng = random.Random(2026)
    for candidate in found:  # one untimed round: the files in the page cache, like a warm host
        measure(candidate, record=False)
    paired = [c for c in found if c.paired_with_base]
    singles = [c for c in found if c is not base and c not in paired]
    for number in range(rounds):
        blocks: list[list[Candidate]] = [[c] for c in singles if number % c.every == 0]
        blocks += [rng.sample([base, candidate], 2) for candidate in paired]
        rng.shuffle(blocks)
        for block in blocks:
            for candidate in block:
                measure(candidate, record=True)
            if len(block) == 2:
                candidate = block[0] if block[1] is base else block[1]
                candidate.paired.append(candidate.samples[-1] / base.samples[-1])
                if candidate.firsts:
                    total = candidate.samples[-1] + candidate.firsts[-1]
                    candidate.paired_total.append(total / base.samples[-1])
        print(f"  round {number + 1}/{rounds} done", flush=True)


# --- where the time goes -------------------------------------------------------------------------------

IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)$")
Entry = tuple[str, int, int]  # module, self us, cumulative us


def importtime(paths: list[Path], statement: str, cwd: Path, runs: int = 3) -> tuple[str, list[Entry]]:
    """`python -X importtime` of one candidate's imports, the median run of a few (by total): its raw
    text and (module, self us, cumulative us) per line."""
    code = Candidate("importtime", statement, paths, cwd).code()
    outputs = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-S", "-c", code],
            cwd=cwd,
            env=child_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        entries = []
        for line in completed.stderr.splitlines():
            match = IMPORTTIME_LINE.match(line)
            if match:
                entries.append((match[3], int(match[1]), int(match[2])))
        outputs.append((sum(self_us for _, self_us, _ in entries), completed.stderr, entries))
    outputs.sort(key=lambda item: item[0])
    _, text, entries = outputs[len(outputs) // 2]
    return text, entries


def per_package(entries: list[Entry]) -> dict[str, int]:
    """Self time summed per top-level package, in microseconds."""
    totals: dict[str, int] = {}
    for name, self_us, _ in entries:
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0) + self_us
    return totals


def where_the_time_goes(entries: list[Entry], base_entries: list[Entry]) -> list[str]:
    top = sorted(entries, key=lambda e: e[2], reverse=True)[:15]
    total = sum(self_us for _, self_us, _ in entries) or 1
    base_total = sum(self_us for _, self_us, _ in base_entries)
    listed = ", ".join(f"{name} {cumulative / 1000:.0f}" for name, _, cumulative in top)
    packages = per_package(entries)
    heaviest = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:10]
    grouped = ", ".join(f"{package} {us / 1000:.0f} ({us / total:.0%})" for package, us in heaviest)
    base_packages = per_package(base_entries)
    extra = {package: us - base_packages.get(package, 0) for package, us in packages.items()}
    added = sorted(extra.items(), key=lambda item: item[1], reverse=True)[:12]
    beyond = ", ".join(f"{package} +{us / 1000:.0f}" for package, us in added if us >= 1000)
    return [
        "Where AuthFunction's init time goes (`python -X importtime`, which itself slows imports; full "
        f"output in docs/importtime-auth.txt; {total / 1000:.0f} ms of imports under importtime). Top 15 "
        f"cumulative, ms: {listed}.",
        f"Same run, self time summed per top-level package, ms (share): {grouped}.",
        f"What AuthFunction imports beyond the BUDGET base ({base_total / 1000:.0f} ms under importtime, "
        f"{total / 1000 - base_total / 1000:+.0f} ms), self time per package, ms: {beyond}.",
    ]


# --- verdicts ------------------------------------------------------------------------------------------


def budget_verdict(candidate: Candidate, ratio: float, result: Result) -> str:
    loaded = sorted(candidate.loaded)
    paired = statistics.median(candidate.paired)
    within = paired <= BUDGET_RATIO + TOLERANCE and not loaded
    verdict = f"paired {paired:.2f}x base (medians {ratio:.2f}x): "
    verdict += f"within budget ({BUDGET_RATIO:.1f}x)" if within else f"OVER BUDGET ({BUDGET_RATIO:.1f}x)"
    verdict += f"; loads {', '.join(loaded)}" if loaded else f"; no {'/'.join(MUST_NOT_LOAD)}"
    if paired > BUDGET_RATIO + TOLERANCE:
        result.failures.append(
            f"{candidate.name}: init is {paired:.2f}x the base measured next to it, over "
            f"{BUDGET_RATIO:.1f}x (+{TOLERANCE:.2f} measurement tolerance)"
        )
    if loaded:
        result.failures.append(f"{candidate.name}: {', '.join(loaded)} in sys.modules after init")
    return verdict


def first_request_row(candidate: Candidate, base_median: float, result: Result) -> Row:
    function = candidate.name.split()[0]
    method, path, _, _ = FIRST_REQUESTS[function]
    statuses = sorted(candidate.statuses)
    if statuses != [200]:
        result.failures.append(f"{function}: its first request {method} {path} answered {statuses}")
    median, p95 = summarise(candidate.firsts)
    if candidate.snapstart:
        name = f"{function} with SnapStart: after_restore + first request `{method} {path}`"
        verdict = f"answered {', '.join(map(str, statuses))} (informative)"
    else:
        name = f"{function} first request after init `{method} {path}`"
        totals = [s + f for s, f in zip(candidate.samples, candidate.firsts, strict=True)]
        verdict = (
            f"init + first request: paired {statistics.median(candidate.paired_total):.2f}x base "
            f"(medians {statistics.median(totals) / base_median:.2f}x; informative); answered "
            + ", ".join(map(str, statuses))
        )
    return Row(SECTION, name, fmt_ms(median), fmt_ms(p95), verdict)


# --- main ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true", help="run sam build even when the build is fresh")
    parser.add_argument("--no-build", action="store_true", help="use .aws-sam/build as it is")
    parser.add_argument("--json", help="write the result here (for bench/report.py)")
    args = parser.parse_args()

    build_note = "used .aws-sam/build as it was (--no-build)" if args.no_build else ensure_build(args.rebuild)
    pyc_count, compile_seconds = compile_build()
    result = Result()
    services, token = start_services()
    try:
        with tempfile.TemporaryDirectory(prefix="reservas-nopyc-") as scratch:
            found, base = candidates(copy_without_pyc(Path(scratch)), token)
            print(f"{len(found)} candidates, {args.rounds} rounds", flush=True)
            run_rounds(found, base, args.rounds)
    finally:
        services.stop()

    base_median = statistics.median(base.samples)
    functions = [c for c in found if c.function]
    for candidate in found:
        median, p95 = summarise(candidate.samples)
        ratio = median / base_median
        if candidate.statement is None:
            verdict = "-"
        elif candidate is base:
            verdict = "1.00x (base)"
        elif candidate.function:
            verdict = budget_verdict(candidate, ratio, result)
        elif candidate.paired_with_base:
            verdict = f"paired {statistics.median(candidate.paired):.2f}x base (medians {ratio:.2f}x)"
        elif candidate.snapstart:
            verdict = f"{ratio:.2f}x base: paid once, at publish (informative)"
        else:
            verdict = f"{ratio:.2f}x base"
        samples = f" ({len(candidate.samples)} runs)" if candidate.every > 1 else ""
        result.rows.append(Row(SECTION, candidate.name + samples, fmt_ms(median), fmt_ms(p95), verdict))
        if candidate.firsts:
            result.rows.append(first_request_row(candidate, base_median, result))

    walls = ", ".join(f"{c.name.split()[0]} {fmt_ms(statistics.median(c.walls))}" for c in functions)
    modules = ", ".join(f"{c.name.split()[0]} {c.modules}" for c in functions)
    no_pyc = found[-1]
    auth = next(c for c in functions if c.name.startswith("AuthFunction"))
    requests = ", ".join(f"{name} `{method} {path}`" for name, (method, path, _, _) in FIRST_REQUESTS.items())
    result.notes += [
        f"Cold start: {args.rounds} interleaved rounds (random order, after one untimed round) of fresh "
        "`python -S` interpreters whose sys.path is the built function folder + "
        ".aws-sam/build/CommonLayer/python + the standard library; init is timed inside the child. "
        f"Budget (#20): without SnapStart a function's init costs 1.0x the base, its paired ratio <= "
        f"{BUDGET_RATIO + TOLERANCE:.2f} (a measurement tolerance of {TOLERANCE:.2f}: see the noise check "
        "and bench/cold_start.py's docstring). The base is measured next to each function and the noise "
        f"check in every round (in random order), so the base median is over {len(base.samples)} runs; "
        "'paired' is the median over the rounds of function / the base measured next to it, a check less "
        "sensitive to slow spells of the machine. Median wall time of the whole subprocess (interpreter "
        f"start + init + first request; the child skips teardown with os._exit): {walls}. Modules loaded "
        f"after init: {modules}.",
        f"First requests (a PostgreSQL and a Redis of the benchmark's own, one account): {requests}; each "
        "child is a new client address, the rate limits on. What init leaves for later (a route is built "
        "by its first request: app_factory.DeferredRoute) is paid there, and so are the connections to "
        "PostgreSQL and Redis. With SnapStart, init and before_snapshot (the eager list of "
        "reservas/snapstart.py, every route built, the password list and a bcrypt hash) run once, before "
        "the version's snapshot; a restored instance runs after_restore, then its first request.",
        f"Build: {build_note}; then `python -m compileall` over .aws-sam/build ({pyc_count} .pyc, "
        f"{compile_seconds:.1f} s). `sam build` ships no .pyc, and Lambda's /opt and /var/task are "
        "read-only, so a layer deployed as built compiles every module on every cold start: AuthFunction "
        f"without .pyc takes {fmt_ms(statistics.median(no_pyc.samples))}, "
        f"{statistics.median(no_pyc.samples) / statistics.median(auth.samples):.1f}x its init with them. "
        "Compiling the layer before packaging it (with the runtime's Python 3.13, so the magic number "
        "matches) removes that.",
    ]

    auth_dir = BUILD / "AuthFunction"
    text, entries = importtime([auth_dir, LAYER], "import app", auth_dir)
    _, base_entries = importtime([LAYER], base.statement, BUILD)
    IMPORTTIME_FILE.write_text(text)
    result.notes += where_the_time_goes(entries, base_entries)
    result.print_markdown()
    result.save(args.json)
    return 1 if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
