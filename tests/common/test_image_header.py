"""Image sizes read from headers, before any decoder sees the file (issue 23, finding 4)."""

from __future__ import annotations

import io
import struct

import cv2
import numpy as np
import pytest

from appliance.common.image_header import ImageHeaderError, image_size
from tests.images import huge_png


@pytest.mark.parametrize(
    "suffix,params",
    [
        (".png", []),
        (".jpg", []),
        (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        (".bmp", []),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),  # lossless: VP8L
        (".tiff", []),
    ],
)
def test_every_format_opencv_writes_is_sized_as_it_decodes(suffix, params):
    image = np.random.default_rng(1).integers(0, 255, (37, 61, 3), np.uint8)
    ok, encoded = cv2.imencode(suffix, image, params)
    assert ok
    data = encoded.tobytes()
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert image_size(data) == (decoded.shape[1], decoded.shape[0]) == (61, 37)
    assert image_size(io.BytesIO(data)) == (61, 37)


def test_a_jpeg_frame_header_after_large_segments_is_found():
    ok, encoded = cv2.imencode(".jpg", np.zeros((20, 30, 3), np.uint8))
    data = encoded.tobytes()
    app = b"\xff\xe1" + struct.pack(">H", 65535) + bytes(65533)  # a large EXIF-like segment
    assert image_size(data[:2] + app * 3 + data[2:]) == (30, 20)


def test_a_huge_png_is_sized_without_decoding(tmp_path):
    data = huge_png(30000, 30000)
    assert len(data) < 1 << 20
    path = tmp_path / "huge.png"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        assert image_size(handle) == (30000, 30000)


@pytest.mark.parametrize(
    "data,why",
    [
        (b"P6\n30000 30000\n255\n" + bytes(16), "not a readable image"),  # PPM: OpenCV reads it, we do not
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(20), "not a readable image"),  # JPEG 2000
        (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
        (b"\xff\xd8\xff\xda\x00\x02", "no frame header"),
        (b"", "not a readable image"),
    ],
)
def test_what_cannot_be_sized_is_refused_with_a_reason(data, why):
    with pytest.raises(ImageHeaderError, match=why):
        image_size(data)
