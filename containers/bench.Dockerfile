# limr-kit for benchmarks on NVIDIA GPUs: vLLM (CUDA) with lm-eval and math-verify.
# Pins: containers/requirements/bench.txt (vLLM shared with the train image through vllm.txt).
# Build with `limr-kit build bench`; run with `limr-kit bench ... --image limr-kit:bench --gpus all`.
ARG BASE_IMAGE=nvcr.io/nvidia/pytorch:26.03-py3
FROM ${BASE_IMAGE}
ARG BASE_IMAGE

ARG LIMR_WHEELHOUSE_URL=""
ARG LIMR_CA_BUNDLE_URL=""

# The NGC image pins its own torch through PIP_CONSTRAINT; vLLM must be free to bring the torch it was built for.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_CONSTRAINT="" \
    HF_HOME=/data/hf

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY containers/build-env.sh /usr/local/bin/limr-build-env

RUN groupadd --gid 10001 limr && useradd --uid 10001 --gid 10001 --create-home --shell /bin/bash limr \
    && install -d -m 1777 /data/hf

# The NGC image's own flash-attn, Transformer Engine and friends break once torch moves (OpenRLHF #413, #418).
RUN pip uninstall -y xgboost transformer_engine torchao flash_attn pynvml opencv-python-headless

# Dependencies in one resolver step: the pins, limr-kit's own requirements (read from pyproject.toml), hatchling.
COPY containers/requirements/vllm.txt containers/requirements/bench.txt containers/requirements/build.txt \
     containers/limr-deps.py pyproject.toml /tmp/limr-requirements/
RUN python /tmp/limr-requirements/limr-deps.py /tmp/limr-requirements/pyproject.toml bench \
        > /tmp/limr-requirements/limr-kit.txt \
    && limr-build-env pip install -r /tmp/limr-requirements/bench.txt -r /tmp/limr-requirements/limr-kit.txt \
        -r /tmp/limr-requirements/build.txt \
    && rm -rf /tmp/limr-requirements

# limr-kit itself, last: a change to its source rebuilds only these two layers.
COPY . /opt/limr-kit/src
RUN pip install --no-deps --no-build-isolation --no-index /opt/limr-kit/src && limr-kit --version

ARG LIMR_VERSION=unknown
ARG LIMR_REVISION=unknown
ARG LIMR_DOCKERFILE_DIGEST=unknown
LABEL org.opencontainers.image.title="limr-kit-bench" \
      org.opencontainers.image.description="limr-kit with vLLM (CUDA), lm-eval and math-verify for benchmarks" \
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
