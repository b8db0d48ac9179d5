"""What every panel of the dashboards shares: the datasource variable, the type filter, and how a
query, a panel's place and a trend are made."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DS = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
TYPE = 'service_type=~"$service_type"'
Panel = Any  # the SDK's panel builders share no base type that carries these methods


def query(
    expr: str, legend: str = "", ref: str = "A", *, instant_table: bool = False
) -> prometheus.Dataquery:
    q: prometheus.Dataquery = (
        prometheus.Dataquery().datasource(DS).expr(expr).legend_format(legend or "__auto").ref_id(ref)
    )
    return q.format(PromQueryFormat.TABLE).instant() if instant_table else q


def place(panel: Panel, title: str, description: str, unit: str, grid: tuple[int, int, int, int]) -> Panel:
    x, y, w, h = grid
    return (
        panel.title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .grid_pos(model.GridPos(h, w, x, y))
    )


def trend(title: str, description: str, unit: str, grid: tuple[int, int, int, int], *targets: Any) -> Panel:
    panel = place(timeseries.Panel(), title, description, unit, grid)
    for target in targets:
        panel.with_target(target)
    return panel
