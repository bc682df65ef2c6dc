"""Run a command and report its peak memory: ``python measure.py REPORT_FILE COMMAND...``.

The command's exit status is passed on; its peak resident set size (ru_maxrss, in kB, of the
command and every process it waited for) is written to REPORT_FILE. A wrapper, because the peak
of one child is only readable by the process that reaps it.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path


def main() -> int:
    report, command = Path(sys.argv[1]), sys.argv[2:]
    status = subprocess.call(command)
    report.write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return status


if __name__ == "__main__":
    sys.exit(main())
