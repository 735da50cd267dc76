"""What leaves the appliance: the result folder, published atomically (``writer``), and its manifest
(``manifest``: the typed records every reader and writer shares)."""
