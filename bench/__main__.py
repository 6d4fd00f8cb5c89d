"""Run every benchmark with its defaults, one after another, each in its own process.

    python -m bench                    # updates, search, importer, memory (+ broadcast)
    python -m bench search memory      # only these

Each writes bench/results/<name>.json and prints its table; see bench/README.md.
``bench.broadcast`` (the broadcast engine's benchmark) is run too when it is present.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = ("updates", "search", "importer", "memory")
# Benchmarks other work keeps in bench/ (run when present).
OPTIONAL = ("broadcast",)
ALL = OWN + tuple(n for n in OPTIONAL if (ROOT / "bench" / f"{n}.py").exists())


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    names = argv or list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}",
            file=sys.stderr,
        )
        return 2
    failed = []
    for name in names:
        print(f"\n===== python -m bench.{name} =====", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        print(
            f"===== bench.{name}: exit {code} after {time.perf_counter() - started:.0f} s =====",
            flush=True,
        )
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
