"""Run a command and write its peak resident memory, in kilobytes, to a file:
``python bench/peak.py OUT COMMAND...``; exits with the command's status.

A child's ``ru_maxrss`` on Linux also counts the memory of the process it was forked from,
as it was when forked (the high-water mark is carried through ``exec``), and of the whole
parent when the child is started by ``vfork``. A bench that has loaded a database would so
report its own size as the command's peak. Started from this small process instead, the
command's figure is its own (above this process's few megabytes, the least it can report).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path


def main() -> int:
    out, command = Path(sys.argv[1]), sys.argv[2:]
    status = subprocess.call(command)
    out.write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return status


if __name__ == "__main__":
    sys.exit(main())
