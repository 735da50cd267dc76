"""An image's width and height from its header, read before anything decodes it.

A decoder allocates what the header asks for: a 1 MB PNG of zero rows can say 30000x30000 and
take gigabytes before any limit on the decoded picture is checked. The box only decodes what this
module can size, so the format is told by its first bytes (as OpenCV does, whatever the name), and
anything else OpenCV could read (PPM, JPEG 2000, EXR, HDR, ...) is refused as unreadable. Only headers are read:
a JPEG's segments are skipped by their lengths, a TIFF's first directory is read by its offset.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

FORMATS = "JPEG, PNG, BMP, WebP or TIFF"
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start of frame; C4, C8, CC are other segments
JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # markers with no length
JPEG_MAX_SEGMENTS = 1000  # a real JPEG has tens before its frame header
TIFF_WIDTH, TIFF_HEIGHT = 256, 257
TIFF_MAX_TAGS = 4096
TIFF_INTEGER = {3: "H", 4: "I"}  # SHORT, LONG


class ImageHeaderError(ValueError):
    """Not an image whose size can be read from its header; the message says why."""


def image_size(source: bytes | BinaryIO) -> tuple[int, int]:
    """``(width, height)`` from the header of an image in memory or in a file open for binary reading."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source
    head = stream.read(32)
    readers = (
        (b"\x89PNG\r\n\x1a\n", _png),
        (b"\xff\xd8\xff", _jpeg),
        (b"BM", _bmp),
        (b"II*\x00", _tiff),
        (b"MM\x00*", _tiff),
    )
    for magic, reader in readers:
        if head.startswith(magic):
            return _checked(reader(head, stream))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _checked(_webp(head, stream))
    raise ImageHeaderError(f"not a readable image ({FORMATS})")


def _checked(size: tuple[int, int]) -> tuple[int, int]:
    if size[0] <= 0 or size[1] <= 0:
        raise ImageHeaderError(f"the image header gives no size ({size[0]}x{size[1]})")
    return size


def _need(data: bytes, count: int, what: str) -> bytes:
    if len(data) < count:
        raise ImageHeaderError(f"truncated image: its {what} is cut short")
    return data


def _png(head: bytes, _stream: BinaryIO) -> tuple[int, int]:
    """The IHDR chunk comes first, by the standard; OpenCV refuses a PNG without it."""
    _need(head, 24, "PNG header")
    if head[12:16] != b"IHDR":
        raise ImageHeaderError("not a valid PNG: the first chunk is not IHDR")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _jpeg(_head: bytes, stream: BinaryIO) -> tuple[int, int]:
    """Walk the segments to the first start-of-frame; entropy-coded data only follows the frame header."""
    stream.seek(2)
    for _ in range(JPEG_MAX_SEGMENTS):
        marker = _jpeg_marker(stream)
        if marker in JPEG_STANDALONE:
            continue
        length = struct.unpack(">H", _need(stream.read(2), 2, "JPEG segment"))[0]
        if length < 2:
            raise ImageHeaderError("not a valid JPEG: a segment length below 2")
        if marker in JPEG_SOF:
            frame = _need(stream.read(5), 5, "JPEG frame header")
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before them
            break
        stream.seek(length - 2, io.SEEK_CUR)
    raise ImageHeaderError("not a valid JPEG: no frame header before the image data")


def _jpeg_marker(stream: BinaryIO) -> int:
    """The next marker's code, past any fill bytes (0xFF)."""
    byte = _need(stream.read(1), 1, "JPEG segment")
    if byte != b"\xff":
        raise ImageHeaderError("not a valid JPEG: a segment does not start with a marker")
    while byte == b"\xff":
        byte = _need(stream.read(1), 1, "JPEG segment")
    return byte[0]


def _bmp(head: bytes, _stream: BinaryIO) -> tuple[int, int]:
    """BITMAPCOREHEADER (12 bytes: 16-bit sizes) or a later one (32-bit; a negative height is top-down)."""
    _need(head, 26, "BMP header")
    if struct.unpack("<I", head[14:18])[0] == 12:
        width, height = struct.unpack("<HH", head[18:22])
        return width, height
    width, height = struct.unpack("<ii", head[18:26])
    return width, abs(height)


def _webp(head: bytes, stream: BinaryIO) -> tuple[int, int]:
    """The first chunk: VP8 (lossy), VP8L (lossless) or VP8X (extended: the canvas)."""
    stream.seek(12)
    chunk = _need(stream.read(18), 18, "WebP header")
    kind, body = chunk[:4], chunk[8:]
    if kind == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            raise ImageHeaderError("not a valid WebP: no VP8 frame start code")
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        if body[0] != 0x2F:
            raise ImageHeaderError("not a valid WebP: no VP8L signature")
        bits = struct.unpack("<I", body[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        return int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1
    raise ImageHeaderError(f"not a valid WebP: unknown first chunk {kind!r}")


def _tiff(head: bytes, stream: BinaryIO) -> tuple[int, int]:
    """ImageWidth and ImageLength of the first directory (the page OpenCV decodes)."""
    order = "<" if head[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", _need(head, 8, "TIFF header")[4:8])[0]
    stream.seek(offset)
    count = struct.unpack(order + "H", _need(stream.read(2), 2, "TIFF directory"))[0]
    if count > TIFF_MAX_TAGS:
        raise ImageHeaderError("not a valid TIFF: too many tags in its first directory")
    entries = _need(stream.read(12 * count), 12 * count, "TIFF directory")
    found: dict[int, int] = {}
    for at in range(0, len(entries), 12):
        tag, kind = struct.unpack(order + "HH", entries[at : at + 4])
        if tag in (TIFF_WIDTH, TIFF_HEIGHT):
            if kind not in TIFF_INTEGER:
                raise ImageHeaderError("not a valid TIFF: its image size is not a whole number")
            value = entries[at + 8 : at + 8 + struct.calcsize(TIFF_INTEGER[kind])]
            found[tag] = struct.unpack(order + TIFF_INTEGER[kind], value)[0]
    if TIFF_WIDTH not in found or TIFF_HEIGHT not in found:
        raise ImageHeaderError("not a valid TIFF: no image width and length in its first directory")
    return found[TIFF_WIDTH], found[TIFF_HEIGHT]
