"""`sam build` for one architecture, then compiled to .pyc: `make build ARCH=arm64|x86_64`.

template.yaml is written for arm64 (the default: cheaper, and usually faster). The layer's binary
wheels (pydantic-core, bcrypt...) are built for one architecture, so the architecture is chosen when
building, never switched at deploy time: for x86_64 the build works from a copy of the template with
the architecture replaced (`.aws-sam/template-x86_64.yaml`), and `.aws-sam/build/template.yaml`, what
`sam deploy` deploys, says which one was built. No Docker: pip takes the wheels made for the target.

The tests that import the built artifacts with this machine's Python build for this machine
(`host_architecture()`)."""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
BUILD = ROOT / ".aws-sam" / "build"
DEFAULT = "arm64"
ARCHITECTURES = ("arm64", "x86_64")
# Every place template.yaml names the architecture, exactly as written there.
_NAMED = (
    "    Architectures: [{}]\n",
    "      CompatibleArchitectures: [{}]\n",
    "      BuildArchitecture: {}\n",
)


def host_architecture() -> str:
    machine = platform.machine().lower()
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}[machine]


def template_for(architecture: str) -> Path:
    """template.yaml for `architecture` (itself for the default)."""
    if architecture not in ARCHITECTURES:
        raise SystemExit(f"ARCH must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    if architecture == DEFAULT:
        return TEMPLATE
    text = TEMPLATE.read_text()
    for line in _NAMED:
        if text.count(line.format(DEFAULT)) != 1:
            raise SystemExit(f"template.yaml no longer says {line.format(DEFAULT).strip()!r} once")
        text = text.replace(line.format(DEFAULT), line.format(architecture))
    variant = ROOT / ".aws-sam" / f"template-{architecture}.yaml"
    variant.parent.mkdir(exist_ok=True)
    variant.write_text(text)
    return variant


def sam_build(
    architecture: str, *, compile_it: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`sam build` of the template for `architecture` into .aws-sam/build, then (`compile_it`) compiled
    with this Python (the runtime's: the .pyc magic number must match), as Lambda will run it."""
    bin_dir = Path(sys.executable).parent
    # sam finds the runtime's python3.13 on PATH: the virtual environment's comes first.
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    sam = bin_dir / "sam"
    command = [str(sam), "build", "--template-file", str(template_for(architecture)), "--base-dir", str(ROOT)]
    built = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if built.returncode == 0 and compile_it:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "-j", "0", str(BUILD)], check=True, capture_output=True
        )
    return built


def built_architecture() -> str | None:
    """The architecture .aws-sam/build was built for, if it was."""
    built = BUILD / "template.yaml"
    if not built.exists():
        return None
    found = re.search(r"Architectures:\s*\n\s*-\s*(\w+)", built.read_text())
    return found.group(1) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=DEFAULT, choices=ARCHITECTURES)
    parser.add_argument(
        "--template-only", action="store_true", help="write the template for --arch, print its path"
    )
    args = parser.parse_args()
    if args.template_only:
        print(template_for(args.arch).relative_to(ROOT))
        return 0
    built = sam_build(args.arch)
    sys.stdout.write(built.stdout)
    sys.stderr.write(built.stderr)
    if built.returncode == 0:
        print(f"Built for {args.arch} into {BUILD.relative_to(ROOT)} (compiled to .pyc).")
    return built.returncode


if __name__ == "__main__":
    raise SystemExit(main())
