"""Long recordings in parts: a plan that decodes nothing (:mod:`.plan`), parts analysed anywhere and
kept on disk (:mod:`.store`), one merge (:mod:`.merge`)."""

from .merge import MATCH_IOU, merge_parts
from .plan import MAX_PARTS, MIN_PART_GOPS, STILL_WEIGHT, Part, SplitPlan, plan_parts
from .store import ALL_CROPS, ARRAYS_FILE, PART_FILE, PartResult, copy_all_crops, load_part, save_part

__all__ = [
    "ALL_CROPS",
    "ARRAYS_FILE",
    "MATCH_IOU",
    "MAX_PARTS",
    "MIN_PART_GOPS",
    "PART_FILE",
    "STILL_WEIGHT",
    "Part",
    "PartResult",
    "SplitPlan",
    "copy_all_crops",
    "load_part",
    "merge_parts",
    "plan_parts",
    "save_part",
]
