"""Where WARC records start: a WARC file cut into record units, whole or by byte range.

A unit is one gzip member of a `.warc.gz` (one record in Common Crawl's layout) or one record of a
plain `.warc`/`.wet`. Units follow one another: a good unit ends where the next begins; a broken one
(a member that does not decompress, a header that does not parse, a block cut short by the end of the
file) runs to the next *confirmed* record start after it, so reading goes on there.

A confirmed start is a gzip magic (1f 8b 08) from which a `WARC/1.x` line decompresses, or, in a
plain file, a `WARC/1.x` line at the start of the file or after a blank line whose header parses
(lines of `Name: value`, with a `Content-Length`). Confirmation is what lets a task start in the
middle of a file: the task of byte range [start, end) scans for the first confirmed start in it
and reads units from there until the first unit at or after `end` that is a confirmed start, so a
unit that starts before `end` is read to its end, and an unconfirmed one after `end` (a broken member
past a boundary) is read by the range before it, which alone can know it follows. The ranges of a
file therefore read its units each once, in order, as one task reading the whole file does.

The magic inside compressed data decompressing to a WARC line is negligible; a plain record whose
payload holds a whole WARC record (an archived WARC file) at a line start after a blank line would
be taken for a record start by a range beginning inside it: crawls of WARC files are best read
compressed (per-member `.warc.gz`), as crawlers write them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator

from curation.filereaders import CHUNK

SPLIT_BYTES = 128 << 20  # the default byte range of one task (Pipeline.warc_split_bytes)
GZIP_MAGIC = b"\x1f\x8b\x08"
PLAIN_MAGIC = b"WARC/1."
PIECE = 1 << 16  # fed to zlib at a time: a member's unused tail is copied, so not a whole chunk
PROBE = 4096  # compressed bytes decompressed to confirm a member start: a header needs far fewer
HEADER_MAX = 1 << 16  # a plain record's header longer than this does not parse
_WARC_LINE = re.compile(rb"WARC/1\.[0-9]\r?\n")


def byte_ranges(size: int, split: int) -> list[tuple[int, int | None]]:
    """The (start, end) ranges of a file of `size` bytes; the last one's end is None (to the end)."""
    starts = list(range(0, max(size, 1), split))
    return [(a, b) for a, b in zip(starts, [*starts[1:], None], strict=True)]


class _Window:
    """A file's bytes from `base` on, read ahead in chunks; absolute offsets throughout."""

    def __init__(self, f, pos: int):
        if pos:
            f.seek(pos)
        self.f, self.base, self.buf, self.eof = f, pos, bytearray(), False

    def fill(self, upto: int) -> bool:
        """Read up to offset `upto`; False if the file ends before it."""
        while not self.eof and self.base + len(self.buf) < upto:
            chunk = self.f.read(CHUNK)
            self.eof = not chunk
            self.buf += chunk
        return self.base + len(self.buf) >= upto

    def get(self, a: int, b: int) -> bytes:
        return bytes(self.buf[max(a - self.base, 0):max(b - self.base, 0)])

    def drop(self, pos: int) -> None:
        """Forget the bytes before `pos` but the 4 that tell a plain record start (once they add up)."""
        cut = pos - 4 - self.base
        if cut >= CHUNK:  # not on every unit: each cut moves what is left
            del self.buf[:cut]
            self.base += cut

    def size(self) -> int:
        self.fill(1 << 62)
        return self.base + len(self.buf)


def _gz_start(w: _Window, pos: int) -> bool:
    w.fill(pos + PROBE)
    head = w.get(pos, pos + PROBE)
    if not head.startswith(GZIP_MAGIC):
        return False
    try:
        out = zlib.decompressobj(31).decompress(head, 64)
    except zlib.error:
        return False
    return _WARC_LINE.match(out) is not None


def _plain_end(w: _Window, pos: int) -> int | None:
    """Where the block of the record whose header starts at `pos` ends; None if no header parses there."""
    w.fill(pos + HEADER_MAX)
    off = pos - w.base
    if not _WARC_LINE.match(w.buf, off):
        return None
    crlf = w.buf.find(b"\n\r\n", off, off + HEADER_MAX)
    lf = w.buf.find(b"\n\n", off, crlf if crlf >= 0 else off + HEADER_MAX)  # not past the header: it is short
    blank = [e for e in (crlf, lf) if e >= 0]
    if not blank:
        return None
    cut = min(blank) + 1  # the blank line's first byte
    length = None
    for line in bytes(w.buf[off:cut]).split(b"\n")[1:-1]:
        line = line.rstrip(b"\r")
        name, sep, value = line.partition(b":")
        if not sep and line[:1] not in (b" ", b"\t"):  # a continuation line starts with white space
            return None
        if name.strip().lower() == b"content-length":
            if not value.strip().isdigit():
                return None
            length = int(value)
    if length is None:
        return None
    return w.base + cut + (1 if w.buf[cut] == 10 else 2) + length


def _plain_start(w: _Window, pos: int) -> bool:
    before = w.get(pos - 4, pos)
    after_blank = pos == 0 or before.endswith(b"\n\n") or before == b"\r\n\r\n"
    return after_blank and _plain_end(w, pos) is not None


def _gz_unit(w: _Window, pos: int) -> tuple[int, bytes] | None:
    """(end, decompressed bytes) of the gzip member at `pos`, or None if it does not decompress."""
    d, out, i = zlib.decompressobj(31), [], pos
    try:
        while True:
            w.fill(i + PIECE)
            piece = w.get(i, i + PIECE)
            if not piece:
                break
            out.append(d.decompress(piece))
            i += len(piece)
            if d.eof:
                return i - len(d.unused_data), b"".join(out)
    except zlib.error:
        pass
    return None


def _plain_unit(w: _Window, pos: int) -> tuple[int, bytes] | None:
    """(end past the blank lines after it, bytes) of the plain record at `pos`, or None if it is broken."""
    end = _plain_end(w, pos)
    if end is None or not w.fill(end):
        return None
    data, nxt = w.get(pos, end), end
    while w.fill(nxt + 1) and w.get(nxt, nxt + 1) in (b"\r", b"\n"):
        nxt += 1
    return nxt, data


def _next_start(w: _Window, frm: int, limit: int | None, is_start: Callable, magic: bytes,
                drop: bool = False) -> int | None:
    """The first confirmed record start in [frm, limit) (limit None: to the end of the file)."""
    i = frm
    while limit is None or i < limit:
        if drop:
            w.drop(i)
        w.fill(i + CHUNK)
        j = w.buf.find(magic, max(i - w.base, 0))
        if j < 0:
            if w.eof:
                return None
            i = max(i, w.base + len(w.buf) - len(magic) + 1)
            continue
        j += w.base
        if limit is not None and j >= limit:
            return None
        if is_start(w, j):
            return j
        i = j + 1
    return None


def record_units(f, gz: bool, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes | None, bytes]]:
    """(offset, unit bytes, b"") per unit of the byte range [start, end), or (offset, None, raw bytes)
    for a broken unit; `f` is positioned at 0 and must be seekable when `start` > 0."""
    is_start, unit, magic = (_gz_start, _gz_unit, GZIP_MAGIC) if gz else (_plain_start, _plain_unit, PLAIN_MAGIC)
    w = _Window(f, max(start - 4, 0))
    pos = 0 if start == 0 else _next_start(w, start, end, is_start, magic, drop=True)
    while pos is not None and w.fill(pos + 1):
        if end is not None and pos >= end and is_start(w, pos):
            return  # the next range's first unit
        w.drop(pos)
        done = unit(w, pos)
        if done is None:
            nxt = _next_start(w, pos + 1, None, is_start, magic)
            yield pos, None, w.get(pos, w.size() if nxt is None else nxt)
        else:
            nxt, data = done
            yield pos, data, b""
        pos = nxt
