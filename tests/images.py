"""Crafted images for the size limits: huge on the decoder, small on disk, made in well under a second."""

from __future__ import annotations

import struct
import zlib

ADLER_MOD = 65521


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zero_rows_zlib(row_bytes: int, rows: int) -> bytes:
    """A zlib stream of ``rows`` zero rows, each a filter byte and ``row_bytes`` zeros.

    A block of rows is compressed once and repeated (a full flush makes each copy stand alone), so
    900 MB of rows costs a megabyte of work; the checksum of n zeros is ``(n mod 65521) << 16 | 1``.
    """
    row = bytes(row_bytes + 1)
    per_block = max(1, (1 << 20) // len(row))
    packer = zlib.compressobj(9)
    first = packer.compress(row * per_block) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(row * per_block) + packer.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(rows, per_block)
    parts = [first] + [block] * (whole - 1) if whole else [first[:2]]
    if rest:
        parts.append(packer.compress(row * rest) + packer.flush(zlib.Z_FULL_FLUSH))
    total = rows * len(row)
    parts.append(b"\x03\x00")  # an empty final block (fixed Huffman, end of block)
    parts.append(struct.pack(">I", (total % ADLER_MOD) << 16 | 1))
    return b"".join(parts)


def huge_png(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of ``width`` x ``height`` black pixels: 30000x30000 is under 1 MB."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zero_rows_zlib(width, height)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
