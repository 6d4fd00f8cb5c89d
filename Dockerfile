# Gerbang Koperasi: the webhook server (or `python -m bot run` for long polling).
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
COPY data ./data
# The production install has no embedded database: MONGODB_URI must point at MongoDB.
RUN pip install . \
    && useradd --system --uid 10001 --home /app bot \
    && mkdir -p /data && chown bot /data
USER bot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
# Run from /app so the bot finds locales/ and data/ next to its code.
CMD ["python", "-m", "bot", "webhook"]
