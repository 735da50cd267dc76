# syntax=docker/dockerfile:1
# The face appliance for amd64 and arm64 (Raspberry Pi 4/5 64-bit, Jetson): one image recipe.
# Both architectures run the TFLite nets with LiteRT (faster than TensorFlow on the benchmarks, see
# README); LOCK=lite-tf adds the TensorFlow backend on amd64 only. Dependencies come pinned with their
# hashes from requirements/ (scripts/lock.sh).
#
#   docker build -t face-appliance .
#   docker run -d -p 127.0.0.1:8080:8080 -e APPLIANCE_TOKEN=... -v "$PWD/data:/data" face-appliance

# The base image by tag. Where a registry can be reached, pin it by digest for a reproducible build:
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> .
# with the digest from `docker buildx imagetools inspect python:3.11-slim` (or skopeo inspect).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG TARGETARCH
# the lock file to install from (requirements/<LOCK>.txt): lite, or lite-tf (amd64 only)
ARG LOCK=lite
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python3 -m venv /opt/appliance
COPY requirements/${LOCK}.txt ./requirements.txt
RUN case "${TARGETARCH:-}:${LOCK}" in \
      arm64:*tf*) echo "LOCK=${LOCK}: TensorFlow is not installed on arm64 images" >&2; exit 1 ;; \
    esac \
 && /opt/appliance/bin/pip install --no-compile --require-hashes -r requirements.txt
COPY pyproject.toml README.md ./
COPY models/pnet.tflite models/rnet.tflite models/onet.tflite models/sface.onnx models/README.md ./models/
COPY appliance ./appliance
RUN /opt/appliance/bin/pip install --no-compile --no-deps . \
 && find /opt/appliance -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="face-appliance" \
      org.opencontainers.image.description="Extracts one good crop per person from CCTV footage (MTCNN)"
RUN groupadd --system --gid 10001 appliance \
 && useradd --system --uid 10001 --gid appliance --home-dir /data --no-create-home appliance \
 && mkdir -p /data && chown appliance:appliance /data
COPY --from=build /opt/appliance /opt/appliance
ENV PATH=/opt/appliance/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APPLIANCE_DATA=/data \
    APPLIANCE_HOST=0.0.0.0 \
    APPLIANCE_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
USER 10001:10001
WORKDIR /data
# on the port the appliance was given (APPLIANCE_PORT); /healthz answers 503 when the box is degraded
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('APPLIANCE_PORT', '8080'), timeout=4)"]
STOPSIGNAL SIGTERM
# Bound to 0.0.0.0 so the port can be published: APPLIANCE_TOKEN is required (it refuses to start without).
ENTRYPOINT ["appliance"]
CMD ["serve"]
