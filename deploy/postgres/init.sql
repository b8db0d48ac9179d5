-- The pipeline's log tables with the indexes Heartbeat Monitor's queries need (PostgreSQL).
-- The id key is what incremental counting reads (WHERE id > n); created_at serves the status
-- API's time windows. `heartbeat-exporter init-db` creates the same through SQLAlchemy.
CREATE TABLE IF NOT EXISTS node_monitor_metrics (
    id BIGSERIAL PRIMARY KEY,
    ip VARCHAR(64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_node_monitor_metrics_created_at ON node_monitor_metrics (created_at);

CREATE TABLE IF NOT EXISTS database_access_log (
    id BIGSERIAL PRIMARY KEY,
    client_ip VARCHAR(64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_database_access_log_created_at ON database_access_log (created_at);

CREATE TABLE IF NOT EXISTS redis_access_log (
    id BIGSERIAL PRIMARY KEY,
    client_ip VARCHAR(64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_redis_access_log_created_at ON redis_access_log (created_at);

CREATE TABLE IF NOT EXISTS access_logs (
    id BIGSERIAL PRIMARY KEY,
    server_addr VARCHAR(64),
    remote_addr VARCHAR(64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_access_logs_created_at ON access_logs (created_at);

-- A read-only role for the exporter; set its password before use (no default password is shipped).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'heartbeat_exporter') THEN
    CREATE ROLE heartbeat_exporter LOGIN;
  END IF;
END $$;
GRANT SELECT ON node_monitor_metrics, database_access_log, redis_access_log, access_logs TO heartbeat_exporter;
