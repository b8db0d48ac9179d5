# One image for the receiver and the exporter (choose with the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY heartbeat_core ./heartbeat_core
COPY heartbeat_receiver ./heartbeat_receiver
COPY exporter ./exporter
COPY heartbeat_agent ./heartbeat_agent
COPY heartbeat_monitor ./heartbeat_monitor
COPY loopback ./loopback
RUN pip install . && useradd --system --uid 10001 --no-create-home heartbeat
USER heartbeat

EXPOSE 26002 26003
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(os.environ.get('HEALTH_URL','http://127.0.0.1:26002/healthz'), timeout=2)"
CMD ["heartbeat-receiver"]
