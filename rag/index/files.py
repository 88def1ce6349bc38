"""Corpus inputs on disk: which files a list of paths names, and their bytes, read safely.

Only regular files are read, opened non-blocking and checked with ``fstat`` first: a FIFO, a device, a
socket, a broken link or a link loop is a ``CorpusError`` naming it as what it is (a FIFO with no writer
would otherwise block the ingest forever). Folders are read one level deep, and a warning names the sub-folders
left out; hidden entries (".hidden.jsonl", an editor's lock link ".#refs.bib", macOS's "._refs.bib") are not read.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from rag.errors import CorpusError

SUFFIXES = (".txt", ".jsonl", ".json", ".ndjson", ".csv", ".tsv", ".bib", ".bibtex")
"""The files of a folder that are read (a file named on its own is read whatever its name: its content tells
its format)."""
NAMES = ".txt, .jsonl, .json, .csv, .tsv or .bib files"
MAX_FILE_BYTES = 256 * 1024 * 1024
log = logging.getLogger(__name__)

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def _kind(mode: int) -> str | None:
    """What a non-regular file is (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_a_file(path: Path, kind: str) -> CorpusError:
    return CorpusError(str(path), None, f"this is {kind}, not a corpus file; name {NAMES}")


def _path_problem(path: Path, exc: OSError) -> CorpusError:
    """A ``CorpusError`` saying why ``path`` cannot be used (missing, a broken link, a link loop, no access)."""
    if exc.errno == errno.ELOOP:
        return CorpusError(str(path), None, "this is a symbolic link loop; point the link at a real file")
    if exc.errno == errno.ENOENT and path.is_symlink():
        return CorpusError(str(path), None, f"this symbolic link points at {os.readlink(path)}, which does not exist")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return CorpusError(str(path), None, "no such file or folder")
    if exc.errno == errno.EACCES:
        return CorpusError(str(path), None, "permission denied; make the file readable (chmod +r)")
    return CorpusError(str(path), None, f"cannot read the file ({exc.strerror or exc})")


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file. Opened non-blocking and checked with ``fstat`` before reading, so a FIFO
    or a device is reported, never read (a FIFO with no writer would block forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _path_problem(path, exc) from exc
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise _not_a_file(path, kind)
        if info.st_size > MAX_FILE_BYTES:
            raise CorpusError(
                str(path), None, f"the file is {info.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}; split it"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _path_problem(path, exc) from exc
    finally:
        os.close(fd)


def _folder_files(folder: Path, quiet: bool = False) -> list[Path]:
    """The corpus files of a folder (not its sub-folders, which a warning names unless ``quiet``), sorted; special
    files among them are errors."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise _path_problem(folder, exc) from exc
    files, others = [], []
    for entry in entries:
        if entry.name.startswith("."):  # hidden: editor locks and copies, macOS AppleDouble metadata
            continue
        if entry.suffix.lower() not in SUFFIXES:
            others.append(entry.name + "/" if entry.is_dir() else entry.suffix.lower() or entry.name)
            continue
        try:
            kind = _kind(entry.stat().st_mode)
        except OSError as exc:
            raise _path_problem(entry, exc) from exc
        if kind == "a folder":
            others.append(entry.name + "/")
        elif kind is not None:
            raise _not_a_file(entry, kind)
        else:
            files.append(entry)
    if not files:
        found = f" (it holds {len(others)} other entries: {', '.join(sorted(set(others))[:5])})" if others else ""
        raise CorpusError(str(folder), None, f"the folder holds no {NAMES}{found}")
    folders = sorted(name for name in others if name.endswith("/"))
    if folders and not quiet:
        log.warning("%s: left out %d sub-folder(s) (%s); folders are read one level deep, so name a sub-folder "
                    "(to rag ingest or in RAG_CORPUS_PATHS) to read it", folder, len(folders), ", ".join(folders[:5]))
    skipped = sorted(entry.name for entry in entries if not entry.name.startswith(".") and entry.is_file()
                     and entry.suffix.lower() not in SUFFIXES)
    if skipped and not quiet:  # "a.jsonl.gz", "refs.ris": never dropped without a word
        log.warning("%s: left out %d file(s) whose names it does not read (%s); it reads %s (decompress or convert "
                    "the others, or name a file on its own: its content tells its format)", folder, len(skipped),
                    ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else ""), NAMES)
    return files


def expand_paths(paths: Iterable[Path], quiet: bool = False) -> list[Path]:
    """Files named, and the corpus files inside folders named, in a stable order. Nothing is opened here: a
    FIFO or a device is named as what it is; a folder with no corpus files is an error (never an empty input).
    ``quiet``: no warning about sub-folders (for a second listing of the same paths)."""
    files: dict[str, Path] = {}  # each file once, however it was reached: "in" and "in/base.jsonl" name it twice
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise _path_problem(path, exc) from exc
        kind = _kind(mode)
        if kind is not None and kind != "a folder":
            raise _not_a_file(path, kind)
        for file in _folder_files(path, quiet) if kind == "a folder" else [path]:
            files.setdefault(os.path.realpath(file), file)
    return list(files.values())
