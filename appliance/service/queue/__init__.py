"""Queue backends behind :class:`~appliance.service.jobs.JobStore`: ``sqlite`` (embedded, the default)."""
