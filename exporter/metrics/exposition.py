"""A faster renderer of both exposition formats, byte for byte what client_python writes.

With 10,000 services the exporter renders some 50,000 samples per scrape; client_python's
``generate_latest`` formats every sample's labels from scratch. Here the label string of a
label set is made once per scrape and shared by the families that repeat it (age, up, last
seen, received), and the escaping is skipped for the usual values that need none.

:func:`negotiate` picks the format and compression from the request's headers as
``prometheus_client.exposition.choose_encoder`` and ``gzip_accepted`` do, so Prometheus gets
OpenMetrics when it asks for it. Tests compare both formats with client_python's output on
the same registry and parse them with client_python's parsers.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import math
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from heartbeat_core.record import ServiceRecord

_go_float: Callable[[float], str] = floatToGoString  # the library's own number format
_SUFFIX = {"counter": "_total", "info": "_info"}
_TYPE = {"info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram", "unknown": "untyped"}
OPENMETRICS = "application/openmetrics-text"
# a scrape is very repetitive text: level 1 already shrinks it about tenfold (docs/benchmarks.md)
GZIP_LEVEL = 1
_UNHANDLED = ("_created", "_gsum", "_gcount")  # sample shapes of families we never make


@runtime_checkable
class Written(Protocol):
    """A family that writes its own lines (from what its services keep), not a line per sample."""

    def text(self) -> str: ...


class PlusOneLabel(dict[str, str]):
    """A labels dict that is another one plus one label sorting after all of its keys.

    The renderer then writes it from the other's label string, already made, instead of sorting
    and escaping every label again: a service's six ``heartbeat_state`` samples share its
    ``service_name`` and ``service_type``. To everything else it is a plain dict.
    """

    __slots__ = ("base", "full", "suffix")

    def __init__(self, base: dict[str, str], key: str, value: str) -> None:
        super().__init__(base)
        self[key] = value
        self.base = base
        self.suffix = f',{key}="{_escape(value)}"}}'
        self.full: str | None = None  # the whole label string, kept when the base's is known for good

    def text(self, base: str) -> str:
        """The label string, given the base's."""
        return base[:-1] + self.suffix


class ServiceLabels(dict[str, str]):
    """A service's ``service_name`` and ``service_type``, with their label string made once and
    kept from scrape to scrape (``exporter.metrics.services`` keeps one per service), and its
    ``heartbeat_state`` label sets, whose strings are kept too. A scrape of 10,000 services
    formatted some 60,000 label strings that never change between scrapes."""

    __slots__ = ("blocks", "kept", "states", "text")

    def __init__(self, name: str, service_type: str, states: tuple[str, ...]) -> None:
        super().__init__(service_name=name, service_type=service_type)
        self.text = "{" + f'service_name="{_escape(name)}",service_type="{_escape(service_type)}"' + "}"
        self.states = tuple(PlusOneLabel(self, "state", state) for state in states)
        for labels in self.states:
            labels.full = labels.text(self.text)
        self.blocks: dict[tuple[int, bool], str] = {}  # its heartbeat_state lines, by state
        # its lines that depend on its record alone, with that record (KeptFamily): one value, so
        # that a concurrent scrape never pairs one record with another's lines
        self.kept: Kept | None = None

    def block(self, index: int, every: bool) -> str:
        """Its ``heartbeat_state`` lines when in the ``index``-th state: every state's (the enum),
        or only that one's; made once, then kept with the service."""
        text = self.blocks.get((index, every))
        if text is None:
            shown = enumerate(self.states) if every else [(index, self.states[index])]
            text = self.blocks[(index, every)] = "".join(
                f"heartbeat_state{labels.full} {'1.0' if i == index else '0.0'}\n" for i, labels in shown
            )
        return text


class Kept:
    """A service's lines in the families that depend on its record alone, made from that record
    (:func:`exporter.metrics.record_families.keep`). Only strings are kept, no samples: tens of
    thousands of kept objects would make every cyclic garbage collection between scrapes slower
    (a read of 10k services took 60 % longer with them)."""

    __slots__ = ("lines", "record")

    def __init__(self, record: ServiceRecord, samples: list[list[Sample]]) -> None:
        self.record = record
        labelstrs: dict[int, tuple[dict[str, str], str]] = {}
        self.lines = tuple(
            ["".join([sample_line(s, labelstrs) for s in found]) if found else "" for found in samples]
        )


class StateFamily(GaugeMetricFamily):
    """``heartbeat_state``, written from each service's kept block of lines (:meth:`ServiceLabels.block`)
    instead of a sample per line: seven of a service's ten lines a scrape. ``samples`` are made
    only for a reader that asks (client_python's own renderers, the tests)."""

    def __init__(self, name: str, documentation: str, labels: list[str], every: bool = True) -> None:
        self.services: list[tuple[ServiceLabels, int]] = []
        self.every = every
        super().__init__(name, documentation, labels=labels)

    @property
    def samples(self) -> list[Sample]:
        return [
            Sample(self.name, labels, 1.0 if i == index else 0.0, None)
            for service, index in self.services
            for i, labels in enumerate(service.states)
            if self.every or i == index
        ]

    @samples.setter
    def samples(self, _: list[Sample]) -> None:
        pass  # Metric.__init__ sets an empty list: the services are the samples

    def add(self, service: ServiceLabels, index: int) -> None:
        self.services.append((service, index))

    def text(self) -> str:
        every = self.every
        return "".join([service.block(index, every) for service, index in self.services])


class ValueFamily(GaugeMetricFamily):
    """A family of one sample per service (age, up), written from each service's kept label
    string without a ``Sample`` per line; ``samples`` only for a reader that asks."""

    def __init__(self, name: str, documentation: str, labels: list[str]) -> None:
        self.values: list[tuple[ServiceLabels, float]] = []
        super().__init__(name, documentation, labels=labels)

    @property
    def samples(self) -> list[Sample]:
        return [Sample(self.name, labels, value) for labels, value in self.values]

    @samples.setter
    def samples(self, _: list[Sample]) -> None:
        pass  # Metric.__init__ sets an empty list: the values are the samples

    def text(self) -> str:
        name = self.name
        return "".join([f"{name}{labels.text} {_number(value)}\n" for labels, value in self.values])


class OneLabelFirst(PlusOneLabel):
    """The same, for one label that sorts before all of the other's keys (``name``, ``message``)."""

    __slots__ = ()

    def __init__(self, base: dict[str, str], key: str, value: str) -> None:
        super().__init__(base, key, value)
        self.suffix = f'{{{key}="{_escape(value)}",'

    def text(self, base: str) -> str:
        return self.suffix + base[1:]


def _number(value: float) -> str:
    # the values of most samples; the same text floatToGoString writes for them
    if value == 1.0:
        return "1.0"
    if value == 0.0 and math.copysign(1.0, value) > 0:
        return "0.0"
    return _go_float(value)


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _header(metric_name: str, kind: str, unit: str, documentation: str, openmetrics: bool) -> str:
    if openmetrics:  # the family's own name and type; HELP escapes quotes too
        unit_line = f"# UNIT {metric_name} {unit}\n" if unit else ""
        return f"# HELP {metric_name} {_escape(documentation)}\n# TYPE {metric_name} {kind}\n{unit_line}"
    name = metric_name + _SUFFIX.get(kind, "")
    doc = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {_TYPE.get(kind, kind)}\n"


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a scrape is built.

    A scrape of 10,000 services makes some 150,000 short-lived, acyclic objects (samples, label
    dicts, strings), all freed by reference counting; their allocation alone would trigger
    collections of the whole heap, 40 % of the scrape's time (docs/benchmarks.md). Collection
    resumes afterwards; a concurrent scrape at most shortens the pause.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render(registry: Collector, *, openmetrics: bool = False) -> bytes:
    """The exposition of every family the registry collects, for our families' shapes."""
    with collector_paused():
        return _render(registry, openmetrics)


def _render(registry: Collector, openmetrics: bool) -> bytes:
    output: list[str] = []
    # keyed by the labels dict itself (held in the value, so its id stays unique during this call):
    # the collector shares one dict among the families of a service
    labelstrs: dict[int, tuple[dict[str, str], str]] = {}
    for metric in registry.collect():
        output.append(_header(metric.name, metric.type, metric.unit, metric.documentation, openmetrics))
        if isinstance(metric, Written):
            output.append(metric.text())
            continue
        output.extend([sample_line(sample, labelstrs) for sample in metric.samples])
    if openmetrics:
        output.append("# EOF\n")
    return "".join(output).encode("utf-8")


def sample_line(sample: Sample, labelstrs: dict[int, tuple[dict[str, str], str]]) -> str:
    """One sample's line, the same in both formats; ``labelstrs``: label strings already made."""
    if sample.timestamp is not None or sample.exemplar is not None or sample.name.endswith(_UNHANDLED):
        raise ValueError(f"{sample.name}: not a sample shape this renderer handles")
    labels = sample.labels
    if isinstance(labels, PlusOneLabel):
        text = labels.full or labels.text(_labelstr(labels.base, labelstrs))
        return f"{sample.name}{text} {_number(sample.value)}\n"
    if labels:
        return f"{sample.name}{_labelstr(labels, labelstrs)} {_number(sample.value)}\n"
    return f"{sample.name} {_number(sample.value)}\n"


def _labelstr(labels: dict[str, str], cache: dict[int, tuple[dict[str, str], str]]) -> str:
    if type(labels) is ServiceLabels:
        return labels.text
    cached = cache.get(id(labels))
    if cached is None:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        cached = cache[id(labels)] = (labels, "{" + inner + "}")
    return cached[1]


def negotiate(registry: Collector, accept: str, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a scrape for these request headers."""
    _, content_type = choose_encoder(accept)
    body = render(registry, openmetrics=content_type.startswith(OPENMETRICS))
    headers = {"Content-Type": content_type}
    if gzip_accepted(accept_encoding):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return body, headers
