# samtycke: one small ASGI service. Build: docker build -t samtycke .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --home-dir /var/lib/samtycke --create-home samtycke
WORKDIR /opt/samtycke

COPY pyproject.toml README.md ./
COPY samtycke ./samtycke
COPY consent ./consent
COPY analytics ./analytics
COPY static ./static
# Editable install keeps the top-level static/ beside the packages, where the app serves it from.
RUN pip install -e .

USER samtycke
VOLUME ["/var/lib/samtycke"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
ENTRYPOINT ["samtycke"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--config", "/etc/samtycke/samtycke.toml"]
