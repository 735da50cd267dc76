"""The pipeline, one module per stage: footage in (``video``), where to look (``motion``), faces found
(``finder``: detector plus ``enhance``), scored (``quality``), tracked (``track``), cropped (``crops``),
and ``extract``, which runs them top to bottom and publishes the result. It knows no jobs, no
service and no page."""
