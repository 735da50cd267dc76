"""The activity scan: where anything happens, read from the compressed stream before decoding anything.

A still camera's encoder spends few bytes on the frames between keyframes while nothing moves and
many when something does. Per GOP (keyframe to keyframe), the inter-frame (P/B) bytes per second
are compared with a local baseline: a low quantile of the neighbouring GOPs' rates on both sides,
so slow rate-control drift and day/night bitrate changes do not matter. A GOP well above it is
active, if the GOP's bytes as a whole rose too (an encoder moving bits from a keyframe to the frames
after it is not activity). An encoder held at a constant bitrate hides motion in the bytes; it shows it in the
quantiser instead, so for such H.264 streams the mean slice QP is read from the slice headers and
compared the same way (:mod:`appliance.pipeline.h264`). Active GOPs get one GOP of margin on each
side and short gaps between them are closed; the rest of the file is still.

What the bytes and the quantiser say is then checked against the pictures: pairs of consecutive
keyframes inside still stretches, spread over the file, are decoded (a keyframe decodes alone) and
compared through the motion gate. A flat stream is either still or busy from end to end, and only
the pictures tell which (a walk recorded at a constant quality can look, to every relative rule,
exactly like a constant-bitrate still scene). If any pair differs, the signal has missed activity
that it should have shown, so nothing it says about this file is trusted: decode everything.

Some files cannot be judged this way, and are decoded whole, saying why (``reason``): all-intra
footage (every frame a keyframe), a stream too short to have a baseline, activity over most of
the file, a constant bitrate whose quantiser cannot be read, unreadable packets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from itertools import pairwise

import numpy as np

from . import h264
from .motion import MotionGate
from .video import DecodePlan, Frame, PacketInfo, VideoSource

log = logging.getLogger("appliance.scan")

MIN_GOPS = 6  # fewer keyframe intervals than this give no baseline: decode everything
NEIGHBOURS = 8  # GOPs on each side that make a GOP's baseline
BASELINE_QUANTILE = 0.25
ACTIVE_RATIO = 1.6  # inter-frame bytes per second above this multiple of the baseline: something moves ...
# ... if the GOP's bytes as a whole rise too: an encoder moving bits from its keyframe to the frames after
# it (x264 does at the start of a stream, so every recording file begins that way) is not activity
TOTAL_RATIO = 1.1
# a lasting change of keyframe size (median of the next KEY_RUN against the previous KEY_RUN) by more than
# this fraction: the scene changed between two keyframes (lights, a parked car), even if the frames between
# did not show it (the change fell on the keyframe)
KEY_STEP = 0.2
KEY_RUN = 3
ACTIVE_FLOOR = 0.002  # ... and above this fraction of the stream's mean bytes per second (noise on silence)
# an inter frame this large a share of its keyframe, on average over the GOP: a scene in motion whatever its
# neighbours do (a file busy from end to end has a busy baseline). Still GOPs of the generated camera clips
# stay under 0.01, walking ones are 0.1 or more; chosen on the facenet walk (keyframe every 10 frames) and
# the 5-minute sample, confirmed on the hamilton clip, the held scene and the scan test clips
BUSY_SHARE = 0.05
QP_RISE = 3.0  # mean slice QP this much above its baseline: something moves (constant bitrate) ...
# ... or its mean over any QP_PEAK_S of the GOP, against the same of the GOPs around: people passing
# through a long GOP raise its mean little (0.8 s of a walk in a 5 s GOP: +2.8) but their half second
# by 4-10. Chosen on generated 640x360 clips (a 5 s GOP at 400 kbit/s, walks of 0.2-1.6 s: +3.8 to +7.5,
# still GOPs under 0.7) and confirmed on others (2 and 10 s GOPs, 300-800 kbit/s, no B-frames: +5.2 to
# +10, still under 1.6). A stream's first GOP also rises (the encoder's rate control settling, +2 to +5):
# it is decoded, which costs one GOP a file.
QP_PEAK_S = 0.5
CBR_VARIATION = 0.15  # per-GOP byte rates varying less than this (coefficient of variation) ...
CBR_INTER_SHARE = 0.5  # ... with inter frames carrying at least this share: a constant-bitrate encoder
MERGE_GAP_S = 4.0  # still gaps this short between active stretches are decoded too
MOSTLY_ACTIVE = 0.6  # activity over more of the file than this: decoding everything costs the same
# keyframe pairs of still stretches decoded and compared before a plan is trusted: one a minute of
# still footage, at least MIN_STILL_CHECKS (a short file's few GOPs are all cheap), at most MAX_STILL_CHECKS
STILL_CHECK_EVERY_S = 60.0
MIN_STILL_CHECKS = 6
MAX_STILL_CHECKS = 32


@dataclass
class Gop:
    start_s: float
    end_s: float
    key_bytes: int = 0
    inter_bytes: int = 0
    frames: int = 0
    qps: list[float] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return max(self.end_s - self.start_s, 1e-3)

    @property
    def inter_rate(self) -> float:
        return self.inter_bytes / self.duration_s

    @property
    def qp(self) -> float | None:
        return float(np.mean(self.qps)) if self.qps else None

    @property
    def qp_peak(self) -> float | None:
        """The highest mean slice QP over QP_PEAK_S of the GOP's frames (in decode order)."""
        if not self.qps:
            return None
        window = min(max(int(round(QP_PEAK_S * self.frames / self.duration_s)), 1), len(self.qps))
        return float(np.convolve(self.qps, np.ones(window) / window, mode="valid").max())


class ScanSignal(str, Enum):
    """What shows activity in the compressed stream (its value is what the manifest says)."""

    BYTES = "bytes"  # inter-frame bytes per second
    QP = "qp"  # the mean slice quantiser (an encoder held at a constant bitrate)


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    """What the scan found and decided; ``plan`` is None when the file is decoded whole (``reason`` says why)."""

    plan: DecodePlan | None
    reason: str | None
    signal: ScanSignal
    gops: int
    frames: int  # packets counted: the file's real frame count
    duration_s: float
    active_s: float
    active_stretches: int
    keyframes: tuple[float, ...] = ()  # when each keyframe interval starts: where a recording may be cut
    still_checks: int = 0  # keyframe pairs of still stretches decoded and compared

    @property
    def mode(self) -> str:
        return "scan" if self.plan is not None else "decode-all"


def group_gops(packets: Iterable[PacketInfo], fps: float, read_qp: h264.SliceQp | None = None) -> list[Gop]:
    """Packets into GOPs (keyframe to keyframe, any length), with byte counts and (optionally) slice QPs."""
    gops: list[Gop] = []
    last_time = 0.0
    for packet in packets:
        if packet.keyframe or not gops:
            if gops:
                gops[-1].end_s = packet.time_s
            gops.append(Gop(packet.time_s, packet.time_s))
        gop = gops[-1]
        gop.frames += 1
        if packet.keyframe:
            gop.key_bytes += packet.size
        else:
            gop.inter_bytes += packet.size
            if read_qp is not None and packet.head is not None:
                qp = read_qp(packet.head)
                if qp is not None:
                    gop.qps.append(qp)
        last_time = max(last_time, packet.time_s)
    if gops:
        gops[-1].end_s = max(last_time + 1.0 / fps, gops[-1].start_s + 1.0 / fps)
    return gops


def local_baseline(values: np.ndarray, neighbours: int = NEIGHBOURS, quantile: float = BASELINE_QUANTILE) -> np.ndarray:
    """Per position, a low quantile of the values around it (both sides)."""
    out = np.empty_like(values)
    for i in range(len(values)):
        window = values[max(0, i - neighbours) : i + neighbours + 1]
        out[i] = np.quantile(window, quantile)
    return out


def looks_constant_bitrate(gops: list[Gop]) -> bool:
    rates = np.array([(g.key_bytes + g.inter_bytes) / g.duration_s for g in gops[1:-1] or gops])
    inter_share = sum(g.inter_bytes for g in gops) / max(sum(g.key_bytes + g.inter_bytes for g in gops), 1)
    variation = float(rates.std() / max(rates.mean(), 1e-9))
    return variation < CBR_VARIATION and inter_share >= CBR_INTER_SHARE


def active_gops(gops: list[Gop], signal: ScanSignal) -> np.ndarray:
    """Which GOPs show activity by ``signal``; a boolean per GOP."""
    if signal == ScanSignal.QP:
        return _qp_rises(np.array([g.qp if g.qp is not None else np.nan for g in gops])) | _qp_rises(
            np.array([peak if (peak := g.qp_peak) is not None else np.nan for g in gops])
        )
    rates = np.array([g.inter_rate for g in gops])
    totals = np.array([(g.key_bytes + g.inter_bytes) / g.duration_s for g in gops])
    mean_rate = float(totals.mean())
    moving = (rates > ACTIVE_RATIO * local_baseline(rates)) & (rates > ACTIVE_FLOOR * mean_rate)
    busy = np.array([g.inter_bytes / max(g.frames - 1, 1) > BUSY_SHARE * max(g.key_bytes, 1) for g in gops])
    return (moving & (totals > TOTAL_RATIO * local_baseline(totals))) | keyframe_steps(gops) | busy


def _qp_rises(qp: np.ndarray) -> np.ndarray:
    """Where a per-GOP quantiser rises QP_RISE above its baseline: the GOPs around it, and the file's own
    still level (a busy minute is its own neighbours' baseline, and only its edges would rise above it)."""
    qp = np.where(np.isnan(qp), np.nanmedian(qp), qp)
    baseline = np.minimum(local_baseline(qp), np.quantile(qp, BASELINE_QUANTILE))
    return qp - baseline > QP_RISE


def keyframe_steps(gops: list[Gop]) -> np.ndarray:
    """GOPs on either side of a lasting change in keyframe size (a one-off keyframe is not one)."""
    keys = np.array([g.key_bytes for g in gops], dtype=np.float64)
    marked = np.zeros(len(gops), bool)
    for i in range(KEY_RUN, len(gops) - KEY_RUN + 1):
        before, after = np.median(keys[i - KEY_RUN : i]), np.median(keys[i : i + KEY_RUN])
        if abs(after / max(before, 1.0) - 1) > KEY_STEP:
            marked[i - 1 : i + 1] = True
    return marked


def stretches(gops: list[Gop], active: np.ndarray) -> list[tuple[float, float]]:
    """Active GOPs grown by one GOP on each side, gaps up to MERGE_GAP_S closed, as time ranges."""
    marked = active.copy()
    marked[1:] |= active[:-1]
    marked[:-1] |= active[1:]
    ranges: list[list[float]] = []
    for i in np.flatnonzero(marked):
        start, end = gops[i].start_s, gops[i].end_s
        if ranges and start - ranges[-1][1] <= MERGE_GAP_S:
            ranges[-1][1] = end
        else:
            ranges.append([start, end])
    return [(start, end) for start, end in ranges]


def scan(source: VideoSource, keyframe_every_s: float) -> ScanResult:
    """Read every packet of ``source`` (decoding nothing) and decide what to decode."""
    info = source.info
    try:
        gops = group_gops(source.packets(), info.fps)
    except Exception as exc:  # a damaged stream the decoder may still read: let it
        log.warning("%s: scan failed (%s); decoding everything", source.path.name, exc)
        reason = f"unreadable packets ({type(exc).__name__})"
        return ScanResult(
            plan=None,
            reason=reason,
            signal=ScanSignal.BYTES,
            gops=0,
            frames=0,
            duration_s=0.0,
            active_s=0.0,
            active_stretches=0,
        )
    frames = sum(g.frames for g in gops)
    duration = gops[-1].end_s - gops[0].start_s if gops else 0.0
    if not gops:
        return _whole("no packets", gops, 0, 0.0)
    if frames > 1 and len(gops) == frames:
        return _whole("all-intra footage (every frame a keyframe)", gops, frames, duration)
    if len(gops) < MIN_GOPS:
        return _whole(f"too short to judge ({len(gops)} keyframe intervals)", gops, frames, duration)
    signal = ScanSignal.BYTES
    if looks_constant_bitrate(gops):
        if info.codec == "h264":  # a second pass, reading the slice headers
            gops = group_gops(source.packets(with_head=True), info.fps, h264.SliceQp(source.extradata()))
        if sum(1 for g in gops if g.qps) < len(gops) // 2:
            return _whole(f"constant bitrate and the {info.codec} quantiser is not read", gops, frames, duration)
        signal = ScanSignal.QP
    ranges = stretches(gops, active_gops(gops, signal))
    active_s = sum(end - start for start, end in ranges)
    if active_s > MOSTLY_ACTIVE * duration:
        return _whole(f"activity over most of the file ({active_s / duration:.0%})", gops, frames, duration,
                      active_s, len(ranges))  # fmt: skip
    checks = still_pairs(gops, ranges)
    doubt, compared = _doubt(source, checks, signal)
    if doubt is not None:
        log.info("%s: %s; decoding everything", source.path.name, doubt)
        return replace(_whole(doubt, gops, frames, duration), signal=signal, still_checks=compared)
    plan = DecodePlan(tuple(ranges), keyframe_every_s)
    keys = tuple(g.start_s for g in gops)
    return ScanResult(
        plan=plan,
        reason=None,
        signal=signal,
        gops=len(gops),
        frames=frames,
        duration_s=duration,
        active_s=active_s,
        active_stretches=len(ranges),
        keyframes=keys,
        still_checks=compared,
    )


SIGNAL_NAMES = {ScanSignal.BYTES: "inter-frame bytes", ScanSignal.QP: "slice quantiser"}


def _doubt(source: VideoSource, checks: list[tuple[float, float]], signal: ScanSignal) -> tuple[str | None, int]:
    """Why the scan's plan is not to be trusted (None: it is), and how many check pairs were compared.
    Checks that could not be made are doubt too: a plan is trusted on pictures, not on their absence."""
    try:
        compared, moved = confirm_still(source, checks)
    except Exception as exc:  # a damaged stream the decoder may still read whole
        return f"the still checks failed ({type(exc).__name__})", 0
    if moved is not None:
        return (f"motion the {SIGNAL_NAMES[signal]} did not show (keyframes at {moved[0]:.1f} s and "
                f"{moved[1]:.1f} s differ)", compared)  # fmt: skip
    if compared < len(checks) / 2:
        return f"only {compared} of {len(checks)} still checks could be decoded", compared
    return None, compared


def still_pairs(gops: list[Gop], ranges: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Consecutive keyframes (start times) with still footage between them, spread evenly over the file:
    one pair a STILL_CHECK_EVERY_S of still footage, within MIN_STILL_CHECKS and MAX_STILL_CHECKS."""

    def still(gop: Gop) -> bool:
        return not any(start < gop.end_s and gop.start_s < end for start, end in ranges)

    candidates = [(a.start_s, b.start_s) for a, b in pairwise(gops) if still(a) and still(b)]
    still_s = sum(g.duration_s for g in gops if still(g))
    wanted = min(max(round(still_s / STILL_CHECK_EVERY_S), MIN_STILL_CHECKS), MAX_STILL_CHECKS)
    if len(candidates) <= wanted:
        return candidates
    # the middle of every still stretch first (a busy stretch whose signal rose only at its edges
    # leaves a still stretch between two active ones), then evenly over the file
    middles = [run[len(run) // 2] for run in _runs(candidates)]
    limit = max(wanted, min(len(middles), MAX_STILL_CHECKS))
    chosen = middles[:limit]
    for i in np.linspace(0, len(candidates) - 1, wanted).round().astype(int).tolist():
        if len(chosen) >= limit:
            break
        if candidates[i] not in chosen:
            chosen.append(candidates[i])
    return sorted(chosen)


def _runs(pairs: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Consecutive pairs (each starting where the last ended) grouped: the still stretches."""
    runs: list[list[tuple[float, float]]] = []
    for pair in pairs:
        if runs and abs(runs[-1][-1][1] - pair[0]) < 1e-6:
            runs[-1].append(pair)
        else:
            runs.append([pair])
    return runs


def confirm_still(source: VideoSource, pairs: list[tuple[float, float]]) -> tuple[int, tuple[float, float] | None]:
    """Decode each pair's keyframes and compare them through the motion gate (as the pipeline compares a
    frame with its scene): (pairs compared, the first pair that differs or None)."""
    pending = sorted(pairs)
    pictures: dict[float, Frame] = {}
    compared = 0
    for frame in source.keyframes_at(sorted({t for pair in pairs for t in pair})):  # in time order
        pictures[round(frame.time_s, 3)] = frame
        while pending and pending[0][1] <= frame.time_s + 1e-3:  # both keyframes of the next pair read
            first, second = pending.pop(0)
            a, b = pictures.get(round(first, 3)), pictures.get(round(second, 3))
            if a is None or b is None:  # one could not be decoded
                continue
            gate = MotionGate()
            gate.update(a)
            compared += 1
            if gate.update(b).moving:
                return compared, (first, second)
        for time_s in [t for t in pictures if not pending or t < round(pending[0][0], 3)]:
            del pictures[time_s]  # a 1080p picture is 3 MB: keep only those still to be compared
    return compared, None


def _whole(
    reason: str, gops: list[Gop], frames: int, duration: float, active_s: float = 0.0, stretches_n: int = 0
) -> ScanResult:
    keys = tuple(g.start_s for g in gops)
    return ScanResult(
        plan=None,
        reason=reason,
        signal=ScanSignal.BYTES,
        gops=len(gops),
        frames=frames,
        duration_s=duration,
        active_s=active_s or duration,
        active_stretches=stretches_n,
        keyframes=keys,
    )
