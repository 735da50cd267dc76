"""Prometheus metrics, read from the job store at scrape time, and the open health check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from ..service.jobs import ACTIVE_STATES
from ..service.store import JobStore
from .context import context

bp = Blueprint("metrics", __name__)


class QueueCollector(Collector):
    def __init__(self, store: JobStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        counts = self.store.counts()
        by_state = GaugeMetricFamily("appliance_jobs", "Jobs by state", labels=["state"])
        for state, n in counts.items():
            by_state.add_metric([state.value], n)
        yield by_state
        depth = sum(counts[s] for s in ACTIVE_STATES)
        yield GaugeMetricFamily("appliance_queue_depth", "Jobs waiting or running", value=depth)
        totals = self.store.totals()
        yield CounterMetricFamily(
            "appliance_frames_analysed", "Frames analysed by finished jobs", value=totals["frames_analysed"]
        )
        yield CounterMetricFamily(
            "appliance_faces_found", "Tracks found (one per person's run through a recording)", value=totals["faces"]
        )
        yield CounterMetricFamily(
            "appliance_processing_seconds", "Wall time spent on finished jobs", value=totals["processing_seconds"]
        )
        yield CounterMetricFamily(
            "appliance_events_dropped",
            "Events dropped from a full outbox before delivery",
            value=self.store.events_dropped(),
        )
        backlog = GaugeMetricFamily("appliance_events_backlog", "Events waiting for a channel", labels=["channel"])
        connected = GaugeMetricFamily("appliance_channel_connected", "1 if a channel is connected", labels=["channel"])
        for channel in self.store.channels():
            backlog.add_metric([channel["name"]], channel["backlog"])
            connected.add_metric([channel["name"]], channel["connected"])
        yield backlog
        yield connected


class HealthCollector(Collector):
    """The box's health, as the health check sees it."""

    def collect(self) -> Iterator[Metric]:
        found = context().health()
        yield GaugeMetricFamily("appliance_workers_alive", "Worker processes running", value=found.workers_alive)
        yield GaugeMetricFamily("appliance_jobs_stalled", "Jobs making no progress", value=len(found.stalled_jobs))
        yield GaugeMetricFamily(
            "appliance_disk_full", "1 if a disk the appliance writes to is full", value=int(found.disk_full)
        )
        free = GaugeMetricFamily("appliance_disk_free_bytes", "Free space", labels=["folder"])
        for folder, size in found.free_bytes.items():
            free.add_metric([folder], size)
        yield free


def registry_for(store: JobStore) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(QueueCollector(store))
    registry.register(HealthCollector())
    return registry


@bp.get("/metrics")
def metrics() -> Any:
    return Response(generate_latest(context().registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/healthz")
def healthz() -> Any:
    found = context().health()
    return jsonify(found.to_dict()), (200 if found.ok else 503)
