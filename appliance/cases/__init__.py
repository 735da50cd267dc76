"""Cases: one person's appearances handed to an investigator as one zip.

Every appearance of the person(s) asked for, a short clip of each cut from the original recording
with everyone else's face blurred, the best crops, ``case.json`` (who, what, when, the settings, the
sha256 of every source recording and every file exported), ``SHA256SUMS`` and an ``index.html``
that opens offline. One job per module: ``appearances`` (what to export), ``boxes`` (where faces
are in every frame), ``redact`` (blurring), ``clip`` (cutting and encoding), ``sources`` (finding
and proving the footage), ``recorded`` (time of day), ``record`` (case.json), ``page``
(index.html), ``package`` (the zip) and ``export`` (the whole, in order).
"""
