# geosite in a container: Debian slim, a non-root user, the site in a volume.
#   docker build -t geosite .
#   docker run -d --name geosite -p 6080:6080 -p 6443:6443 -v geosite-data:/var/lib/geosite \
#     -e GEOSITE_ADMIN_PASSWORD=... geosite
# See docs/deployment.md. The wheels of pyogrio, shapely and pyproj carry GDAL, GEOS and PROJ,
# so no system library is installed.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/geosite
COPY pyproject.toml constraints.txt README.md ./
COPY geosite ./geosite
# The versions CI tested (constraints.txt), not whatever is newest today.
RUN /opt/geosite/bin/pip install --no-compile -c constraints.txt . \
    && /opt/geosite/bin/python -m compileall -q /opt/geosite/lib

FROM python:3.11-slim-bookworm
ENV PATH=/opt/geosite/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GEOSITE_DATA_DIR=/var/lib/geosite \
    GEOSITE_HOST=0.0.0.0 \
    GEOSITE_PORT=6080 \
    GEOSITE_HTTPS_PORT=6443
RUN groupadd --system --gid 6080 geosite \
    && useradd --system --uid 6080 --gid geosite --home-dir /var/lib/geosite \
        --shell /usr/sbin/nologin geosite \
    && install -d -o geosite -g geosite -m 0700 /var/lib/geosite
COPY --from=build /opt/geosite /opt/geosite
USER 6080:6080
WORKDIR /var/lib/geosite
VOLUME ["/var/lib/geosite"]
EXPOSE 6080 6443
# The site's public health check (rest/info/healthCheck) over loopback HTTP.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/bin/sh", "-c", "geosite --site \"http://127.0.0.1:${GEOSITE_PORT}${GEOSITE_CONTEXT_PATH:-/arcgis}\" site health || exit 1"]
ENTRYPOINT ["geosite"]
CMD ["serve"]
