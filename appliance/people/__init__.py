"""People, not tracks: face embeddings (``embed``: SFace in OpenCV), grouping tracks into people
(``cluster``: average linkage with "cannot be the same" constraints), the index of people across
recordings (``index``: SQLite in the state folder, with a person's corrections), and search by photo
(``search``). The pipeline uses ``embed`` and ``cluster``; the service and the page use the index.
"""
