"""Run every benchmark in bench/ in turn; each writes its own results file."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    if not names:
        print("No benchmarks yet.")
        return 0
    environ = dict(os.environ)
    for name in names:
        print(f"== {name}")
        module = importlib.import_module(f"bench.{name}")
        try:
            module.main()
        finally:
            # Each benchmark picks its own database from DATABASE_URL or its default; what one
            # sets in the environment must not become the next one's database.
            os.environ.clear()
            os.environ.update(environ)
    return 0


if __name__ == "__main__":
    sys.exit(main())
