"""Measuring the appliance: detection against annotated photos (``detection``), the CCTV conditions it
is measured under (``degrade``), and the ``mtcnn`` package as the baseline (``reference``)."""
