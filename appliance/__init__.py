"""Face-extraction appliance: one good crop per person from CCTV footage."""

__version__ = "0.1.0"
