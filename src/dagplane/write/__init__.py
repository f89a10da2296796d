"""The one writer of every generated file: DAGs, Dockerfiles, workflows, manifests.

Each kind of output renders (purely) to an ``OutputSet``: the text of every file dagplane
owns in one folder. ``write_outputs`` brings the folder in line with it, safely:

- atomic writes (a temp file in the same folder, then ``os.replace``); unchanged files are
  not rewritten;
- a file is overwritten or pruned only if it carries dagplane's ownership marker
  (``# dagplane-owned: v1 source=... sha256=...`` in its first lines); a hand-written file
  in the way is a conflict, never touched;
- ``keep`` names owned files to leave alone although nothing renders them now (the last good
  DAG of a job whose module is broken);
- ``check=True`` writes nothing and reports what would change (``stale``), for CI.
"""

from dagplane.write._files import (
    MARKER,
    OutputSet,
    WriteReport,
    owned_header,
    raise_for_conflicts,
    read_owner,
    write_atomic,
    write_outputs,
)

__all__ = [
    "MARKER",
    "OutputSet",
    "WriteReport",
    "owned_header",
    "raise_for_conflicts",
    "read_owner",
    "write_atomic",
    "write_outputs",
]
