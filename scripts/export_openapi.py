"""One OpenAPI 3.1 document for the whole API, merged from the four functions' apps.

.venv/bin/python scripts/export_openapi.py            writes docs/openapi.json
.venv/bin/python scripts/export_openapi.py --check    fails when docs/openapi.json is stale
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]
OUTPUT = ROOT / "docs" / "openapi.json"
GROUPS = ("auth", "users", "spaces", "reservations")


def build() -> dict:
    os.environ.setdefault("RESERVAS_STAGE", "local")
    from devtools.apigw import load_function_module

    merged: dict = {
        "openapi": "3.1.0",
        "info": {
            "title": "Reservas",
            "version": "0.1.0",
            "description": "Space-booking API: accounts, spaces and availability, reservations. "
            "Errors are RFC 9457 problem details (application/problem+json). Rules a schema cannot "
            "state: no input may contain NUL (U+0000); bodies are at most 64 KiB; times fall between "
            "1970 and 2199; an interval ends after it starts and lasts at most 31 days; names are one "
            "line with a visible character and no control characters; a space's opening intervals "
            "close after they open and do not overlap; cursors are opaque (pass `next_cursor` back); "
            "a price has at most its currency's decimals. The guide is docs/api.md.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for group in GROUPS:
        document = load_function_module(ROOT / "functions" / group).app.openapi()
        for path, operations in document["paths"].items():
            if path in merged["paths"]:
                raise ValueError(f"{path} is served by two functions")
            merged["paths"][path] = operations
        for kind, items in document.get("components", {}).items():
            target = merged["components"].setdefault(kind, {})
            for name, definition in items.items():
                if name in target and target[name] != definition:
                    raise ValueError(f"components.{kind}.{name} differs between functions")
                target[name] = definition
    merged["paths"] = dict(sorted(merged["paths"].items()))
    for kind in merged["components"]:
        merged["components"][kind] = dict(sorted(merged["components"][kind].items()))
    return merged


def render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is not up to date")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("docs/openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
