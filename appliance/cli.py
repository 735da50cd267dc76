"""The ``appliance`` command: ``extract`` footage now, ``serve`` the inbox, ``eval`` detection quality."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, load

log = logging.getLogger("appliance")


def _detection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["auto", "tf", "tflite"], help="net runner (default: auto)")
    parser.add_argument("--min-face", type=float, dest="min_face", help="smallest face in px (default 20)")
    parser.add_argument("--threads", type=int, help="inference threads per worker (default 1)")
    parser.add_argument("--config", help="TOML settings file")


def _switch(parser: argparse.ArgumentParser, flag: str, dest: str, text: str, value: bool = True) -> None:
    """A flag that sets a setting when given and leaves it to the config layers when not (None)."""
    parser.add_argument(flag, action="store_const", const=value, default=None, dest=dest, help=text)


def _add_extract(sub) -> None:
    p = sub.add_parser("extract", help="extract faces from files into an output folder")
    p.add_argument("inputs", nargs="+", help="video files or images")
    p.add_argument("-o", "--out", required=True, help="output folder (one sub-folder per input)")
    p.add_argument("--fps", help="analysed frames per second, or 'all' (default 5)")
    p.add_argument("--margin", type=float, help="crop margin around the face box (default 0.2)")
    _switch(p, "--all-crops", "all_crops", "also write every detection under all/")
    _switch(p, "--aligned", "aligned", "also write 112x112 crops aligned on the landmarks under aligned/")
    p.add_argument("--enhance", help="low-light enhancement: auto (default), off, stretch, clahe, gamma")
    p.add_argument("--upscale", type=float, help="find faces down to min-face/upscale px (default 1: off)")
    _switch(p, "--no-motion", "motion", "no motion gating: run detection on every analysed frame", value=False)
    _detection_flags(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_extract)


def cmd_extract(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .extract import Extractor
    from .video import InputError

    settings = load(
        args.config,
        {
            k: getattr(args, k, None)
            for k in (
                "backend",
                "fps",
                "min_face",
                "margin",
                "all_crops",
                "aligned",
                "threads",
                "enhance",
                "upscale",
                "motion",
            )
        },
    )
    extractor = Extractor(settings.extract_settings())
    failures = 0
    for item in args.inputs:
        name = Path(item).name
        bar = tqdm(total=0, desc=name[:30], unit="frame", file=sys.stderr, disable=args.quiet, leave=False)

        def progress(state, bar=bar) -> None:
            if state.frames_total and bar.total != state.frames_total:
                bar.total = state.frames_total
            bar.n = state.frames_decoded
            bar.set_postfix(faces=state.faces, tracks=state.tracks, refresh=False)
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
            print(f"{name}: {result.tracks} faces, {result.manifest['stats']['wall_s']:.1f} s", file=sys.stderr)
        print(result.output, flush=True)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="appliance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"appliance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_extract(sub)
    for extra in ("serve", "eval"):
        try:
            module = __import__(f"appliance.{extra}_cli", fromlist=["add_parser"])
        except ImportError:
            continue
        module.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"appliance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
