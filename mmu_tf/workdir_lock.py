"""One writer per workdir: an operating-system lock held for a run's life."""

import fcntl
import os
import sys
import time

LOCK_FILE = ".lock"


class WorkdirInUseError(RuntimeError):
    """Another process holds the workdir; the message names it."""


class WorkdirLock:
    """An exclusive `flock` on `WORKDIR/.lock`, taken on enter and released on exit.

    `flag` names the folder in the messages (`--workdir`, or `--output` for a command's output folder).

    The kernel releases the lock when the process ends, however it ends
    (SIGKILL and out-of-memory included), so a crashed run never leaves a
    workdir locked; the file itself stays and only says who held it last.

    Example:
    >>> with WorkdirLock("runs/demo"):  # doctest: +SKIP
    ...     train()
    """

    def __init__(self, workdir, flag="--workdir"):
        self.workdir = workdir
        self.flag = flag
        self.path = os.path.join(workdir, LOCK_FILE)
        self.handle = None

    def __enter__(self):
        try:
            os.makedirs(self.workdir, exist_ok=True)
            self.handle = open(self.path, "a+")
        except OSError as error:
            raise WorkdirInUseError(f"{self.flag} {self.workdir}: cannot be written ({error.strerror})") from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise WorkdirInUseError(
                f"{self.flag} {self.workdir} is in use by {holder}; wait for it to end or use another {self.flag}"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        self.handle.write(f"process {os.getpid()} ({os.path.basename(sys.argv[0])}, started {started})\n")
        self.handle.flush()
        return self

    def __exit__(self, *exception):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
        return False
