"""The quantiser of H.264 slices, read from their headers without decoding (ITU-T H.264, 7.3).

A constant-bitrate encoder answers motion by raising the quantiser (QP) rather than the byte count,
so the activity scan reads each inter frame's slice QP: ``26 + pic_init_qp_minus26 +
slice_qp_delta``. Getting to ``slice_qp_delta`` means walking the slice header, which depends on the
sequence and picture parameter sets (SPS, PPS); those come from the MP4 ``avcC`` record or from the
stream itself (Annex B). No Python library reads these fields; this reads only what is needed to
reach the QP and gives up (None) on anything it does not know (slice groups, MVC).
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 512  # of a packet, enough for the slice header of its first slice
HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
P, B, I, SP, SI = range(5)  # noqa: E741 - the standard's names


class BitReader:
    """MSB-first bits of an RBSP (emulation-prevention bytes removed), with Exp-Golomb codes."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.bits = len(data) * 8
        self.pos = 0

    def u(self, n: int) -> int:
        if n == 0:
            return 0
        if self.pos + n > self.bits:
            raise EOFError
        self.pos += n
        return (self.value >> (self.bits - self.pos)) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def rbsp(nal: bytes) -> bytes:
    """A NAL unit's payload with the 0x000003 emulation-prevention bytes removed."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


@dataclass(frozen=True)
class Sps:
    separate_colour_plane: bool
    chroma_array_type: int
    log2_max_frame_num: int
    poc_type: int
    log2_max_poc_lsb: int
    delta_pic_order_always_zero: bool
    frame_mbs_only: bool


@dataclass(frozen=True)
class Pps:
    sps_id: int
    cabac: bool
    bottom_field_pic_order: bool
    ref_idx_l0: int
    ref_idx_l1: int
    weighted_pred: bool
    weighted_bipred_idc: int
    pic_init_qp: int
    redundant_pic_cnt: bool


def _skip_scaling_list(r: BitReader, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + r.se() + 256) % 256
        last = nxt or last


def parse_sps(nal: bytes) -> tuple[int, Sps]:
    r = BitReader(rbsp(nal[1:]))
    profile = r.u(8)
    r.u(16)  # constraint flags, level
    sps_id = r.ue()
    chroma_format, separate = 1, False
    if profile in HIGH_PROFILES:
        chroma_format = r.ue()
        if chroma_format == 3:
            separate = bool(r.u(1))
        r.ue(), r.ue(), r.u(1)  # bit depths, qpprime_y_zero_transform_bypass
        if r.u(1):  # seq_scaling_matrix_present
            for i in range(12 if chroma_format == 3 else 8):
                if r.u(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    log2_max_frame_num = r.ue() + 4
    poc_type = r.ue()
    log2_max_poc_lsb, always_zero = 0, False
    if poc_type == 0:
        log2_max_poc_lsb = r.ue() + 4
    elif poc_type == 1:
        always_zero = bool(r.u(1))
        r.se(), r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue(), r.u(1), r.ue(), r.ue()  # max refs, gaps, width, height
    frame_mbs_only = bool(r.u(1))
    chroma_array = 0 if separate else chroma_format
    return sps_id, Sps(separate, chroma_array, log2_max_frame_num, poc_type, log2_max_poc_lsb, always_zero,
                       frame_mbs_only)  # fmt: skip


def parse_pps(nal: bytes) -> tuple[int, Pps]:
    r = BitReader(rbsp(nal[1:]))
    pps_id, sps_id = r.ue(), r.ue()
    cabac, bottom = bool(r.u(1)), bool(r.u(1))
    if r.ue() != 0:
        raise ValueError("slice groups (FMO) are not read")
    l0, l1 = r.ue() + 1, r.ue() + 1
    weighted, bipred = bool(r.u(1)), r.u(2)
    init_qp = 26 + r.se()
    r.se(), r.se(), r.u(1), r.u(1)  # init_qs, chroma_qp_index_offset, deblocking, constrained_intra
    redundant = bool(r.u(1))
    return pps_id, Pps(sps_id, cabac, bottom, l0, l1, weighted, bipred, init_qp, redundant)


def slice_qp(nal: bytes, sps_by_id: dict[int, Sps], pps_by_id: dict[int, Pps]) -> float | None:
    """The QP of a coded slice (NAL types 1 and 5), or None if its parameter sets are unknown."""
    ref_idc, nal_type = (nal[0] >> 5) & 3, nal[0] & 31
    r = BitReader(rbsp(nal[1 : HEAD_BYTES + 1]))
    r.ue()  # first_mb_in_slice
    kind = r.ue() % 5
    pps = pps_by_id.get(r.ue())
    sps = sps_by_id.get(pps.sps_id) if pps else None
    if pps is None or sps is None:
        return None
    if sps.separate_colour_plane:
        r.u(2)
    r.u(sps.log2_max_frame_num)
    field = False
    if not sps.frame_mbs_only:
        field = bool(r.u(1))
        if field:
            r.u(1)
    if nal_type == 5:
        r.ue()  # idr_pic_id
    if sps.poc_type == 0:
        r.u(sps.log2_max_poc_lsb)
        if pps.bottom_field_pic_order and not field:
            r.se()
    if sps.poc_type == 1 and not sps.delta_pic_order_always_zero:
        r.se()
        if pps.bottom_field_pic_order and not field:
            r.se()
    if pps.redundant_pic_cnt:
        r.ue()
    if kind == B:
        r.u(1)  # direct_spatial_mv_pred
    l0, l1 = pps.ref_idx_l0, pps.ref_idx_l1
    if kind in (P, SP, B) and r.u(1):  # num_ref_idx_active_override
        l0 = r.ue() + 1
        if kind == B:
            l1 = r.ue() + 1
    for _ in range(2 if kind == B else 1 if kind in (P, SP) else 0):
        if r.u(1):  # ref_pic_list_modification_flag
            while (idc := r.ue()) != 3:
                r.ue()
                if idc > 5:
                    raise ValueError("bad reordering")
    if (pps.weighted_pred and kind in (P, SP)) or (pps.weighted_bipred_idc == 1 and kind == B):
        _skip_weights(r, sps.chroma_array_type, l0, l1 if kind == B else 0)
    if ref_idc:
        _skip_ref_marking(r, nal_type == 5)
    if pps.cabac and kind not in (I, SI):
        r.ue()  # cabac_init_idc
    return float(pps.pic_init_qp + r.se())


def _skip_weights(r: BitReader, chroma: int, l0: int, l1: int) -> None:
    r.ue()
    if chroma:
        r.ue()
    for count in (l0, l1):
        for _ in range(count):
            if r.u(1):
                r.se(), r.se()
            if chroma and r.u(1):
                r.se(), r.se(), r.se(), r.se()


def _skip_ref_marking(r: BitReader, idr: bool) -> None:
    if idr:
        r.u(2)
        return
    if r.u(1):  # adaptive_ref_pic_marking_mode
        while (op := r.ue()) != 0:
            if op in (1, 3):
                r.ue()
            if op == 2:
                r.ue()
            if op in (3, 6):
                r.ue()
            if op == 4:
                r.ue()


def nal_units(data: bytes, length_size: int) -> list[bytes]:
    """The NAL units of a packet: length-prefixed (MP4, ``length_size`` 1-4) or Annex B (``length_size`` 0)."""
    units = []
    if length_size:
        pos = 0
        while pos + length_size <= len(data):
            size = int.from_bytes(data[pos : pos + length_size], "big")
            pos += length_size
            units.append(data[pos : pos + size])
            pos += size
        return units
    for chunk in data.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00")
        if chunk:
            units.append(chunk)
    return units


class SliceQp:
    """Reads the QP of each packet's first slice, keeping the parameter sets it has seen."""

    def __init__(self, extradata: bytes | None = None) -> None:
        self.sps: dict[int, Sps] = {}
        self.pps: dict[int, Pps] = {}
        self.length_size = 0
        if extradata and extradata[0] == 1:  # avcC: MP4's configuration record
            self.length_size = (extradata[4] & 3) + 1
            self._read_avcc(extradata)

    def _read_avcc(self, data: bytes) -> None:
        pos, count = 6, data[5] & 31
        for kind in ("sps", "pps"):
            for _ in range(count):
                size = int.from_bytes(data[pos : pos + 2], "big")
                self._parameter_set(data[pos + 2 : pos + 2 + size])
                pos += 2 + size
            if kind == "sps":
                count, pos = data[pos], pos + 1

    def _parameter_set(self, nal: bytes) -> None:
        try:
            if nal[0] & 31 == 7:
                key, sps = parse_sps(nal)
                self.sps[key] = sps
            elif nal[0] & 31 == 8:
                key_pps, pps = parse_pps(nal)
                self.pps[key_pps] = pps
        except (EOFError, ValueError, IndexError):
            pass

    def __call__(self, data: bytes) -> float | None:
        for nal in nal_units(data, self.length_size):
            if not nal:
                continue
            kind = nal[0] & 31
            if kind in (7, 8):
                self._parameter_set(nal)
            elif kind in (1, 5):
                try:
                    return slice_qp(nal, self.sps, self.pps)
                except (EOFError, ValueError, IndexError):
                    return None
        return None
