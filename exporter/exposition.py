"""A faster renderer of the Prometheus text format, byte for byte what ``generate_latest`` writes.

With 10,000 services the exporter renders some 50,000 samples per scrape; ``generate_latest``
formats every sample's labels from scratch. Here the label string of a label set is made once
per scrape and shared by the families that repeat it (age, up, last seen, received), and the
escaping is skipped for the usual values that need none. The tests compare the output with
``generate_latest`` on the same registry.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_go_float: Callable[[float], str] = floatToGoString  # the library's own number format
_SUFFIX = {"counter": "_total", "info": "_info"}
_TYPE = {"info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram", "unknown": "untyped"}


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def render(registry: Collector) -> bytes:
    """The exposition of every family the registry collects, for our families' shapes."""
    output: list[str] = []
    # keyed by the labels dict itself (held in the value, so its id stays unique during this call):
    # the collector shares one dict among the families of a service
    labelstrs: dict[int, tuple[dict[str, str], str]] = {}
    for metric in registry.collect():
        name = metric.name + _SUFFIX.get(metric.type, "")
        kind = _TYPE.get(metric.type, metric.type)
        doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        output.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")
        for sample in metric.samples:
            if sample.timestamp is not None or sample.name.endswith(("_created", "_gsum", "_gcount")):
                raise ValueError(f"{sample.name}: not a sample shape this renderer handles")
            labels = sample.labels
            if labels:
                cached = labelstrs.get(id(labels))
                if cached is None:
                    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
                    cached = labelstrs[id(labels)] = (labels, "{" + inner + "}")
                labelstr = cached[1]
                output.append(f"{sample.name}{labelstr} {_go_float(sample.value)}\n")
            else:
                output.append(f"{sample.name} {_go_float(sample.value)}\n")
    return "".join(output).encode("utf-8")
