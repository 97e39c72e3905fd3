"""Every failure a user can meet, as one `error:` line: the one place that maps exceptions to a
message and an exit status (1, or 130 for Ctrl-C). The traceback is printed only with --debug."""
from __future__ import annotations

import errno
import signal
import subprocess
import sys
import tarfile
import traceback
import zipfile


def keep_interrupts() -> None:
    """A Ctrl-C that lands while Python runs a callback it cannot raise from (an import lock's
    weakref callback, a finaliser) would be printed as "Exception ignored ... KeyboardInterrupt"
    and lost. Deliver it again instead, so that the build stops with its one line. (Again a moment
    later, from a thread: raised at once, it would land in this hook, which cannot raise either.)"""
    import threading

    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            again = threading.Timer(0.01, signal.raise_signal, (signal.SIGINT,))
            again.daemon = True
            again.start()
            return
        sys.__unraisablehook__(unraisable)
    sys.unraisablehook = hook


class BuildError(Exception):
    """Bad input (data file, config, weights, environment). Its message names what is at fault."""


class ConfigError(BuildError, ValueError):
    """A config value, option or environment variable is out of range; the message names it."""


# What the user should have had, by errno: the second half of an OSError's line.
_EXPECTED = {
    errno.EISDIR: "expected a file, found a folder",
    errno.ENOTDIR: "expected a folder, found a file",
    errno.ENOENT: "expected it to exist",
    errno.EACCES: "expected permission to read and write it",
    errno.EPERM: "expected permission to read and write it",
    errno.EROFS: "expected a writable file system",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file grew past the size the system allows",
    errno.EEXIST: "expected nothing there yet",
}


def describe_os_error(error: OSError) -> str:
    where = error.filename if error.filename is not None else "a file operation"
    if error.filename2 is not None:
        where = f"{error.filename} -> {error.filename2}"
    reason = error.strerror or type(error).__name__
    expected = _EXPECTED.get(error.errno)
    return f"{where}: {reason}" + (f" ({expected})" if expected else "")


def describe(error: BaseException) -> tuple[str, int]:
    """(one line, exit status) for any exception that reaches the command line."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted; the previous site and cache are left as they were", 130
    if isinstance(error, BuildError):
        return str(error), 1
    if isinstance(error, OSError):
        return describe_os_error(error), 1
    if isinstance(error, (tarfile.TarError, zipfile.BadZipFile, EOFError)):
        return f"a damaged archive: {error}", 1
    if isinstance(error, subprocess.SubprocessError):
        return f"a helper program failed: {error}", 1
    return (f"unexpected {type(error).__name__}: {error} "
            f"(this is a bug; run again with --debug for the traceback)"), 1


def report(error: BaseException, debug: bool) -> int:
    """Print the error as one line on stderr (plus the traceback under --debug); return the status."""
    message, status = describe(error)
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    # One line, even when a message from a library carries newlines.
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return status
