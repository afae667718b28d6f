# samtycke: one small ASGI service. Build: docker build -t samtycke .

# A normal install (not editable) into a virtualenv: the templates and browser files travel
# inside the packages, so the image needs no source tree beside them.
#
# The image talks to a ClickHouse server (docker-compose.yml) and leaves out the embedded
# engine, chDB, which with what it pulls in is about 890 MB installed: the installed packages
# take about 70 MB instead of about 980 MB. For one container on the embedded default, add it:
#   docker build --build-arg EXTRAS=embedded -t samtycke .
FROM python:3.11-slim AS build
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The virtualenv gets no pip or setuptools of its own (about 23 MB the service never runs):
# the base image's pip installs into it.
RUN python -m venv --without-pip /opt/samtycke
WORKDIR /src
COPY pyproject.toml README.md ./
COPY samtycke ./samtycke
COPY consent ./consent
COPY analytics ./analytics
RUN pip --python /opt/samtycke/bin/python install ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/samtycke/bin:$PATH
RUN groupadd --system --gid 10001 samtycke \
 && useradd --system --uid 10001 --gid samtycke --home-dir /var/lib/samtycke --create-home samtycke
COPY --from=build /opt/samtycke /opt/samtycke

# Runs as a user of its own (by number, so a runtime can tell it is not root); relative paths,
# such as the demo's ./samtycke-data, land in its home, which is the volume. Nothing else is
# written, so the root filesystem can be read-only (docker-compose.yml: read_only, a tmpfs
# /tmp); the bytecode was compiled at install time.
USER 10001:10001
WORKDIR /var/lib/samtycke
VOLUME ["/var/lib/samtycke"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
ENTRYPOINT ["samtycke"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--config", "/etc/samtycke/samtycke.toml"]
