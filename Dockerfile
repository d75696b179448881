# The bot in a container: the README's install (pip install of this project, with the PostgreSQL driver that a
# multi-replica deployment needs), run as an unprivileged user.
# Not built in this repository's CI (no container runtime there); CI lints this file with hadolint and installs the
# project the same way into a fresh venv to prove `psycopg` imports and `check` opens PostgreSQL (.ci/run).
# Build: docker build -t onboarding-bot .   Run: docker run --env-file .env -p 3000:3000 onboarding-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/onboarding.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY devslack ./devslack
COPY sinch ./sinch
COPY store ./store
RUN pip install "./[postgres]" \
    && useradd --system --uid 10001 --home-dir /data --create-home bot

USER 10001
VOLUME ["/data"]
EXPOSE 3000
# Liveness only: HTTP mode serves /healthz on PORT; in Socket Mode set HEALTH_PORT=3000 to keep this check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('HEALTH_PORT') or os.environ['PORT']), timeout=4)"]
# SIGTERM (docker stop) makes the bot finish in-flight work and exit 0 within SHUTDOWN_TIMEOUT (10 s, docker's
# default grace period is also 10 s: raise both together).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
