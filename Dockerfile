# syntax=docker/dockerfile:1.7
# One image per server, each with only what that server needs: `docker build --target memory .`
# compose.yaml builds them all. Models come from PyPI packages inside the image; nothing is
# downloaded from a model hub at run time.

ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY docker/overrides.txt docker/overrides.txt
COPY shared shared

# Runtime base: a non-root user, data in /data, loopback-only health probe.
FROM ${PYTHON} AS runtime
ENV PYTHONUNBUFFERED=1 PATH=/app/bin:$PATH STRATA_HOME=/data OMP_WAIT_POLICY=PASSIVE HF_HUB_OFFLINE=1
RUN useradd --uid 10001 --create-home strata && mkdir /data && chown strata /data
USER strata
WORKDIR /data

# --- llm: llama-cpp-python compiles here (portable AVX2 flags, as in pyproject.toml) ----------------
FROM base AS build-llm
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake && rm -rf /var/lib/apt/lists/*
COPY servers/llm servers/llm
ENV CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
RUN uv venv /app && uv pip install --python /app/bin/python --override docker/overrides.txt ./shared "./servers/llm[bundled-model]"

FROM runtime AS llm
COPY --from=build-llm /app /app
EXPOSE 8101
CMD ["strata-llm", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8101"]

# --- codegraph: its call analysis compiles here with mypyc (servers/codegraph/hatch_build.py) -------
FROM base AS build-codegraph
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY servers/codegraph servers/codegraph
RUN uv venv /app && uv pip install --python /app/bin/python --override docker/overrides.txt ./shared ./servers/codegraph

FROM runtime AS codegraph
COPY --from=build-codegraph /app /app
EXPOSE 8102
CMD ["strata-codegraph", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8102", "--repo", "/repo", "--db", "/data/codegraph"]

# --- memory ---------------------------------------------------------------------------------------
FROM base AS build-memory
COPY servers/memory servers/memory
RUN uv venv /app && uv pip install --python /app/bin/python --override docker/overrides.txt ./shared ./servers/memory

FROM runtime AS memory
COPY --from=build-memory /app /app
EXPOSE 8103
CMD ["strata-memory", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8103"]

# --- router ---------------------------------------------------------------------------------------
FROM base AS build-router
COPY servers/router servers/router
RUN uv venv /app && uv pip install --python /app/bin/python --override docker/overrides.txt ./shared "./servers/router[semantic-cache]"

FROM runtime AS router
COPY --from=build-router /app /app
EXPOSE 8104
CMD ["strata-router", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8104"]

# --- voice (Piper + Whisper tiny.en; add the kokoro / whisper-base extras for more) --------------
FROM base AS build-voice
COPY servers/voice servers/voice
RUN uv venv /app && uv pip install --python /app/bin/python --override docker/overrides.txt ./shared ./servers/voice

FROM runtime AS voice
COPY --from=build-voice /app /app
EXPOSE 8105
CMD ["strata-voice", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8105"]
