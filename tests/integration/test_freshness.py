"""Fresh data and lag (SPEC §14) on real servers: rows stop on one edge while its services beat,
and a service's watermark stops while it beats; the shipped rules fire in a real Prometheus.

The rules file is the shipped one with ``for: 5m`` compressed to ``for: 2s`` (HeartbeatLagging's
hold); HeartbeatDataStale has no hold. Prometheus scrapes and evaluates every second.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from exporter.sql.schema import create_schema
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import PrometheusServer, wait_until
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import LiveServer, parse_samples

ROOT = Path(__file__).resolve().parents[2]


def firing(prometheus: PrometheusServer, alert: str) -> list[dict[str, str]]:
    answer = prometheus.query(f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
    return [series["metric"] for series in answer["data"]["result"]]


def test_stale_rows_and_a_stuck_watermark_fire_while_services_beat(
    redis_server: RedisServer, sqlite_url: str, tmp_path: Path
) -> None:
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "database_url": sqlite_url,
            "poll_interval": 0.5,
            "max_staleness": {"kafka_to_database": 3},
            "types": {"backend": {"max_lag": 3}},
        }
    )
    engine = sa.create_engine(sqlite_url)
    create_schema(engine)
    receiver = create_receiver(settings).test_client()
    exporter_app = create_exporter(settings)
    exporter_app.exporter.start()  # type: ignore[attr-defined]
    exporter = LiveServer(exporter_app)
    rules = tmp_path / "heartbeat.rules.yml"
    rules.write_text((ROOT / "alerts" / "heartbeat.rules.yml").read_text().replace("for: 5m", "for: 2s"))
    stop, rows_stop, watermark_stop = threading.Event(), threading.Event(), threading.Event()
    table = sa.table("node_monitor_metrics", sa.column("ip"), sa.column("created_at"))

    def pipeline() -> None:  # beats throughout; rows and the watermark until told to stop
        watermark = time.time()
        while not stop.wait(0.3):
            if not watermark_stop.is_set():
                watermark = time.time()
            receiver.post("/heartbeat", json={"service": "kafka-1"})
            receiver.post("/heartbeat", json={"service": "backend-1", "watermark": watermark})
            if not rows_stop.is_set():
                with engine.begin() as conn:
                    conn.execute(
                        table.insert().values(ip="10.0.0.1", created_at=dt.datetime.now(dt.timezone.utc))
                    )

    feeder = threading.Thread(target=pipeline, daemon=True)
    feeder.start()
    prometheus = PrometheusServer(exporter.port, [str(rules)])
    try:
        newest = ("heartbeat_traffic_newest_row_timestamp_seconds", (("edge", "kafka_to_database"),))
        scrape = lambda: parse_samples(exporter_app.test_client().get("/metrics").get_data(as_text=True))  # noqa: E731
        wait_until(lambda: newest in scrape(), timeout=20)
        time.sleep(5)  # rows and the watermark keep up: nothing fires
        assert not firing(prometheus, "HeartbeatDataStale") and not firing(prometheus, "HeartbeatLagging")
        rows_stop.set()
        watermark_stop.set()
        stopped = time.time()
        # bound: max_staleness (3 s) + a poll (0.5 s) + a scrape and an evaluation (1 s each),
        # and the last row's own age when the rows stopped (up to 0.3 s), with a second to spare
        bound = 3 + 0.5 + 2 + 0.3 + 1
        wait_until(lambda: firing(prometheus, "HeartbeatDataStale"), timeout=30, interval=0.2)
        (stale,) = firing(prometheus, "HeartbeatDataStale")
        assert stale["edge"] == "kafka_to_database" and time.time() - stopped <= bound
        wait_until(lambda: firing(prometheus, "HeartbeatLagging"), timeout=20, interval=0.5)
        (lagging,) = firing(prometheus, "HeartbeatLagging")
        assert lagging["service_name"] == "backend-1"
        up = scrape()[("heartbeat_up", (("service_name", "backend-1"), ("service_type", "backend")))]
        assert up == 1  # it beats throughout: lagging, not down
    finally:
        stop.set()
        feeder.join(5)
        prometheus.close()
        exporter_app.exporter.worker.stop()  # type: ignore[attr-defined]
        exporter.stop()
