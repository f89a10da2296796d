"""A job in the legacy form: ``JOB = (entrypoint, description)``, ``entrypoint(argv) -> int``."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Greet, and leave a file behind when ``DAGPLANE_EXAMPLES_OUTPUT`` names a folder."""
    name = argv[0] if argv else "world"
    print(f"hello, {name}")
    out = os.environ.get("DAGPLANE_EXAMPLES_OUTPUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        Path(out, "hello_legacy.txt").write_text(f"hello, {name}\n", encoding="utf-8")
    return 0 if name else 1


JOB = (main, "Say hello (legacy job form, run manually).")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
