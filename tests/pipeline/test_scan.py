"""The activity scan's rules on hand-made packet streams and through ``scan()`` on real footage, and the
slice-QP reader on real x264 streams."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from appliance.pipeline import h264
from appliance.pipeline.scan import (
    MIN_GOPS,
    ScanSignal,
    active_gops,
    group_gops,
    local_baseline,
    looks_constant_bitrate,
    scan,
    stretches,
)
from appliance.pipeline.video import PacketInfo, VideoSource

FPS = 25.0


def stream(inter_sizes_per_gop: list[int], gop_frames: int = 25, key_size: int = 50_000) -> list[PacketInfo]:
    """A packet stream: one keyframe then ``gop_frames - 1`` inter frames of the given size, per GOP."""
    packets, index = [], 0
    for inter in inter_sizes_per_gop:
        for k in range(gop_frames):
            packets.append(PacketInfo(index, index / FPS, key_size if k == 0 else inter, k == 0))
            index += 1
    return packets


def test_packets_become_gops_with_their_bytes():
    gops = group_gops(stream([100, 200, 300]), FPS)
    assert [(g.start_s, g.frames, g.key_bytes, g.inter_bytes) for g in gops] == [
        (0.0, 25, 50_000, 2400),
        (1.0, 25, 50_000, 4800),
        (2.0, 25, 50_000, 7200),
    ]
    assert gops[0].duration_s == pytest.approx(1.0) and gops[-1].end_s == pytest.approx(3.0)


def test_a_burst_of_inter_bytes_is_active_and_slow_drift_is_not():
    drift = [400 + 10 * i for i in range(30)]  # the encoder's level creeping up: never activity
    sizes = drift[:12] + [3000, 3500] + drift[14:]
    active = active_gops(group_gops(stream(sizes), FPS), ScanSignal.BYTES)
    assert list(np.flatnonzero(active)) == [12, 13]


def test_a_recording_busy_from_end_to_end_is_active_all_through_by_its_bytes(videos):
    """The hamilton clip: people walking through the whole file, a variable bitrate (the scan reads its
    bytes, not its quantiser). Its baseline is busy too, so only the busy share marks every GOP; the
    relative rules alone find two of its six (77 % of the file with their margins, not all of it)."""
    found = scan(VideoSource(videos / "short_hamilton_clip.mp4"), keyframe_every_s=8.0)
    assert found.signal is ScanSignal.BYTES and found.gops >= MIN_GOPS, found
    assert found.mode == "decode-all" and found.reason is not None
    assert found.reason.startswith("activity over most of the file"), found.reason
    assert found.active_s == pytest.approx(found.duration_s), found


def test_a_still_scene_with_sensor_noise_is_not_busy(videos, tmp_path):
    """One frame of the same camera held for 10 s with moving grain: inter frames about a hundredth of
    their keyframe, under the busy share; the scan plans no activity and its still checks agree."""
    still = tmp_path / "still-noise.mp4"
    hold = "trim=end_frame=1,loop=loop=249:size=1,setpts=N/25/TB,noise=alls=4:allf=t"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(videos / "short_hamilton_clip.mp4"), "-vf", hold, "-r", "25"]
        + ["-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-an", str(still)],
        check=True,
    )
    found = scan(VideoSource(still), keyframe_every_s=8.0)
    assert found.signal is ScanSignal.BYTES and found.mode == "scan", found
    assert found.active_s == 0 and found.still_checks >= MIN_GOPS


def test_active_gops_get_a_margin_and_short_gaps_close():
    gops = group_gops(stream([500] * 30), FPS)
    active = np.zeros(30, bool)
    active[[5, 10, 20]] = True  # 5 and 10: a gap of 2 s (7..9) between their margins is closed
    assert stretches(gops, active) == [(4.0, 12.0), (19.0, 22.0)]
    active[:] = False
    active[[5, 13, 25]] = True  # gaps of 5 s and more stay
    assert stretches(gops, active) == [(4.0, 7.0), (12.0, 15.0), (24.0, 27.0)]


def test_the_baseline_is_a_low_quantile_of_the_neighbours():
    values = np.array([1.0] * 10 + [10.0] * 3 + [1.0] * 10)
    assert local_baseline(values, neighbours=4).max() == 1.0  # a burst does not lift its own baseline


def test_constant_bitrate_is_recognised():
    still_vbr = group_gops(stream([400] * 20), FPS)  # keyframes carry most of the bytes
    assert not looks_constant_bitrate(still_vbr)
    cbr = group_gops(stream([4000] * 20, key_size=20_000), FPS)  # inter frames padded to the rate
    assert looks_constant_bitrate(cbr)
    busy_vbr = group_gops(stream([400, 9000] * 10), FPS)
    assert not looks_constant_bitrate(busy_vbr)


def test_qp_rises_show_activity_at_constant_bitrate():
    gops = group_gops(stream([4000] * 20, key_size=20_000), FPS)
    for i, gop in enumerate(gops):
        gop.qps = [36.0 if i in (7, 8) else 24.0] * 10
    assert list(np.flatnonzero(active_gops(gops, ScanSignal.QP))) == [7, 8]


def test_a_long_qp_rise_is_active_all_through_not_only_at_its_edges():
    """Twenty busy GOPs at a constant bitrate are their own neighbours' baseline in the middle; the
    file's still level still finds every one of them."""
    gops = group_gops(stream([4000] * 40, key_size=20_000), FPS)
    for i, gop in enumerate(gops):
        gop.qps = [36.0 if 10 <= i < 30 else 24.0] * 10
    assert list(np.flatnonzero(active_gops(gops, ScanSignal.QP))) == list(range(10, 30))


@pytest.mark.parametrize(
    ("name", "params", "qp"),
    [
        ("cabac-b3-weightp.mp4", "qp=30:ipratio=1.0:pbratio=1.0:bframes=3:weightp=2:ref=3", 30),
        ("cavlc-no-b.mp4", "qp=27:ipratio=1.0:pbratio=1.0:bframes=0:cabac=0", 27),
        ("annex-b.h264", "qp=33:ipratio=1.0:pbratio=1.0:bframes=2:b-pyramid=normal", 33),
        ("interlaced.mp4", "qp=30:ipratio=1.0:pbratio=1.0:interlaced=1", 30),
    ],
)
def test_the_slice_qp_is_read_from_real_x264_streams(tmp_path, videos, name, params, qp):
    """x264 at a fixed QP for every slice type: the reader must find exactly it, in every packet."""
    out = tmp_path / name
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(videos / "carphone_pristine.mp4"),
            "-c:v",
            "libx264",
            "-x264-params",
            params,
            "-an",
            str(out),
        ],
        check=True,
    )
    source = VideoSource(out)
    read = h264.SliceQp(source.extradata())
    found = [read(packet.head) for packet in source.packets(with_head=True)]
    assert len(found) == 120 and set(found) == {float(qp)}


def test_the_qp_reader_gives_up_quietly_on_what_is_not_a_slice():
    read = h264.SliceQp()
    assert read(b"\x00\x00\x01\x09\xf0") is None  # an access unit delimiter only
    assert read(b"\x00\x00\x01\x01\xff") is None  # a slice whose parameter sets were never seen
    assert read(b"") is None
