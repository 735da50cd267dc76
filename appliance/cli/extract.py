"""``appliance extract``: process files now, one result folder each."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("extract", help="extract faces from files into an output folder")
    p.add_argument("inputs", nargs="+", help="video files or images")
    p.add_argument("-o", "--out", required=True, help="output folder (one sub-folder per input)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_settings(p, "extract")
    p.set_defaults(func=cmd_extract)


def cmd_extract(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..common.logs import setup_logging
    from ..pipeline.extract import Extractor
    from ..pipeline.progress import Progress
    from ..pipeline.video import InputError

    settings = settings_of(args).settings
    setup_logging(settings.service.log_level)
    extractor = Extractor(settings.extract, motion=settings.motion, scan=settings.scan)
    failures = 0
    for item in args.inputs:
        name = Path(item).name
        bar = tqdm(total=0, desc=name[:30], unit="frame", file=sys.stderr, disable=args.quiet, leave=False)

        def progress(state: Progress, bar: tqdm = bar) -> None:
            if state.frames_total and bar.total != state.frames_total:
                bar.total = state.frames_total
            bar.n = state.frames_read
            bar.set_postfix(detections=state.detections, tracks=state.tracks, refresh=False)
            bar.refresh()

        try:
            result = extractor.run(item, args.out, progress=progress)
        except InputError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        except OSError as exc:
            failures += 1
            where = f" ({exc.filename})" if exc.filename else ""
            print(f"error: {name}: {exc.strerror or exc}{where}", file=sys.stderr)
            continue
        finally:
            bar.close()
        if not args.quiet:
            print(f"{name}: {result.tracks} faces, {result.manifest.stats.wall_s:.1f} s", file=sys.stderr)
        print(result.output, flush=True)
    logging.shutdown()
    return 1 if failures else 0
