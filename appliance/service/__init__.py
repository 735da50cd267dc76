"""The service: the inbox (``watch``), the durable queue (``jobs``, backends under ``queue/``), footage
moves (``footage``, ``layout``), worker processes (``worker``), ``retention``, person-requested
``actions``, and ``service``, which runs them with the page. It runs the pipeline; the pipeline
knows nothing of it."""
