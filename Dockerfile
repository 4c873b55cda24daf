# The service on its own: migrate, then serve. The same commands as the README's `make run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/samhandling
RUN useradd --system --uid 10001 --no-create-home --home-dir /srv/samhandling samhandling

COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# Editable, so that `samhandling migrate` finds migrations/ beside the package.
RUN pip install -c constraints.txt -e . \
    && mkdir -p data \
    && chown samhandling:samhandling data

USER samhandling
# The embedded default; set DATABASE_URL to a PostgreSQL URL in production, and mount ./data
# (or set SAMHANDLING_SIGNING_KEY_FILE) so the signing key survives a new container.
ENV DATABASE_URL=sqlite:///data/samhandling.db \
    WORKERS=1
VOLUME ["/srv/samhandling/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]

CMD ["sh", "-c", "samhandling migrate && exec samhandling serve --host 0.0.0.0 --port 8000 --workers \"$WORKERS\""]
