"""A backup folder as one tar stream, and back: how a running server hands a backup over.

The server streams the folder it wrote, file by file, without holding a file in memory;
the client unpacks it into its target folder.  Unpacking takes regular files only, at
relative paths inside the target, and writes each one private (0600), whatever modes the
stream claims: the signing keys must never land readable by others.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from samtycke import datadir

BLOCK = tarfile.BLOCKSIZE
CHUNK = 1 << 20


class BadArchive(Exception):
    """The stream is not a backup this samtycke wrote."""


def stream(folder: Path) -> Iterator[bytes]:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        info = tarfile.TarInfo(path.relative_to(folder).as_posix())
        info.size = path.stat().st_size
        info.mode = 0o600
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                yield block
        if info.size % BLOCK:
            yield b"\0" * (BLOCK - info.size % BLOCK)
    yield b"\0" * (2 * BLOCK)


class _Chunks(io.RawIOBase):
    """A file-like view of an iterator of byte strings, for ``tarfile``'s stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def extract(chunks: Iterator[bytes], folder: Path) -> int:
    """Unpack a backup stream into ``folder``; how many files it held."""
    datadir.folder(folder)
    count = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(_Chunks(chunks), CHUNK), mode="r|") as archive:
            for member in archive:
                name = PurePosixPath(member.name)
                if not member.isfile() or name.is_absolute() or ".." in name.parts:
                    raise BadArchive(
                        f"the backup stream holds {member.name!r}, which is not a plain file in it"
                    )
                source = archive.extractfile(member)
                assert source is not None  # a regular file always has content
                target = folder.joinpath(*name.parts)
                for parent in reversed(target.relative_to(folder).parents):
                    datadir.folder(folder / parent)
                with open(datadir.create(target), "wb") as out:
                    while block := source.read(CHUNK):
                        out.write(block)
                count += 1
    except tarfile.TarError as exc:
        raise BadArchive(f"the backup stream is damaged: {exc}") from exc
    return count
