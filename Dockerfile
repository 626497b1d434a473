FROM python:3.11-slim-bookworm
WORKDIR /app
# pg_dump/pg_restore for `gridgov backup` and `gridgov restore` (the compose PostGIS is 15).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
# The pinned, hashed dependencies first (a layer that changes only with the lock).
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY gis gis
COPY api api
COPY web web
COPY data data
COPY gridgov gridgov
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && pip check
EXPOSE 8000
CMD ["gridgov", "serve"]
