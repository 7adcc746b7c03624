"""The local API (`devtools/local_api.py`) as a subprocess on a free loopback port, as the end-to-end
tests and the benchmarks run it: started, waited for, its output kept, stopped as Ctrl-C stops it."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.devservices import free_port

ROOT = Path(__file__).resolve().parent.parent
READY = "Reservas local API on"


@dataclass
class LocalApi:
    url: str
    process: subprocess.Popen
    output: collections.deque = field(default_factory=lambda: collections.deque(maxlen=2000))
    errors: list[str] = field(default_factory=list)  # tracebacks and error lines in its output

    def client(self):
        import httpx2 as httpx

        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> int:
        """Stop it as Ctrl-C does; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode


def start_local_api(env: dict[str, str], *args: str, timeout: float = 120) -> LocalApi:
    """Start it with `env` and extra arguments; return once it serves, or raise with its output."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
            str(ROOT / "devtools" / "local_api.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = LocalApi(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        api.output.append(line.rstrip("\n"))
        if READY in line or time.monotonic() > deadline:
            break
    if process.poll() is not None or not api.output or READY not in api.output[-1]:
        process.kill()
        raise RuntimeError("the local API did not start:\n" + "\n".join(api.output))

    def drain() -> None:  # keep the pipe flowing (it logs every request), keep what went wrong
        for line in process.stdout:
            api.output.append(line.rstrip("\n"))
            if "Traceback" in line or line.startswith(("ERROR", "CRITICAL")):
                api.errors.append(line.rstrip("\n"))

    threading.Thread(target=drain, daemon=True, name="local-api-output").start()
    return api
