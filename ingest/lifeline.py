"""The pool's processes end with the service, even when it is killed outright (SIGKILL, OOM).

Without this, a killed service leaves its fork server waiting for requests forever and its workers
waiting for work forever (about 140 MB each, for nothing). The kernel's parent-death signal ties
each to its parent: the fork server to the service, each worker to the fork server.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux; elsewhere nothing changes)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the line above: nobody is left to serve
        os._exit(0)
