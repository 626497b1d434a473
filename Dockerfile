FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gis gis
COPY api api
COPY web web
COPY data data
COPY gridgov gridgov
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["gridgov", "serve"]
