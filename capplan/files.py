"""Writing results: one place for how capplan puts text on disk or on standard output.

- ``-`` is standard output.
- A regular file is replaced atomically (a temporary file beside it, then a rename), so a
  reader never sees half a file and a failure leaves the old one as it was. The new file
  keeps the old one's permission bits (a new one gets the umask's), and its owner where
  the process may set it.
- A symbolic link is written through: its target is replaced, the link stays a link.
- Anything else that exists (a terminal, ``/dev/null``, a pipe) is opened and written in
  place: renaming over a device would replace the device entry itself.
- A name derived from a scenario must stay inside the folder the user chose
  (:func:`inside`).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from capplan.errors import OutputError


def to_json(payload: Any) -> str:
    """The one JSON text form of every output: indented, no NaN, same input same bytes."""
    try:
        return json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"
    except ValueError as exc:  # a non-finite number would make invalid JSON
        raise OutputError(f"result not representable as JSON: {exc}") from exc


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fail(path: str | Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write: {exc.strerror or exc}")


def write_text(path: str | Path, text: str, *, make_folder: bool = True) -> None:
    """Write ``text`` to ``path`` as the module docstring says; raises OutputError."""
    write_bytes(path, text.encode("utf-8"), make_folder=make_folder)


def write_bytes(path: str | Path, data: bytes, *, make_folder: bool = True) -> None:
    """Write ``data`` to ``path`` as the module docstring says; raises OutputError."""
    if str(path) == "-":
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        if binary is not None:
            binary.write(data)
            binary.flush()
        else:  # a text-only stream (a test's capture)
            sys.stdout.write(data.decode("utf-8", errors="replace"))
            sys.stdout.flush()
        return
    target = Path(os.path.realpath(path))  # through symbolic links, to what they name
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _fail(path, exc) from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: is a folder; name a file")
    if info is not None and not stat.S_ISREG(info.st_mode):
        try:
            with open(target, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise _fail(path, exc) from exc
        return
    try:
        if make_folder:
            target.parent.mkdir(parents=True, exist_ok=True)
        elif not target.parent.is_dir():
            raise OutputError(f"{path}: folder {target.parent} does not exist")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _fail(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if info is not None:
            os.chmod(tmp, stat.S_IMODE(info.st_mode))
            # only the owner or root may; the file is otherwise the writer's
            with contextlib.suppress(OSError):
                os.chown(tmp, info.st_uid, info.st_gid)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)  # leave neither half a file nor a stray temporary
        raise _fail(path, exc) from exc


def write_json(path: str | Path, payload: Any) -> None:
    """Any JSON-ready payload, in the one form (:func:`to_json`)."""
    write_text(path, to_json(payload))


def inside(folder: str | Path, name: str) -> Path:
    """``folder/name``, refused unless it stays inside ``folder`` (names come from scenarios)."""
    base = Path(folder).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise OutputError(f"{name!r}: would be written outside {folder}")
    return Path(folder) / name
