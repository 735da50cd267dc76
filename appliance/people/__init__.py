"""People, not tracks: face embeddings (``embed``: SFace in OpenCV), grouping tracks into people
(``cluster``: average linkage with "cannot be the same" constraints), a published result's people into
the index (``recordings``), and the index of people across recordings (``index``, the one door callers
use, over ``store``: SQLite in the state folder; ``matching``: new people to known ones, similar people,
search by embedding; ``regroup``: a person's corrections, kept through re-grouping). The pipeline uses
``embed`` and ``cluster``; the service and the page use the index.
"""
