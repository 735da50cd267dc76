"""Face-extraction appliance: one good crop per person from CCTV footage."""

import os

# FFmpeg and OpenCV print their own warnings for every unreadable file; the appliance reports
# those files itself, once, with a reason. Set before cv2 is first imported.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

__version__ = "0.1.0"
