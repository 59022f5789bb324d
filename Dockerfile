# ShopGuide app image (for users' own machines; not built or run in this repository's CI: no Docker engine there).
# Default: talks to PostgreSQL, a Chroma server and an OpenAI-compatible model server (see compose.yaml).
# Build with --build-arg WITH_LOCAL_LLM=1 to also compile llama.cpp and bundle the embedded Qwen2.5-Coder model.
# It listens on 0.0.0.0 in production mode, so it refuses to start until SHOPGUIDE_STAFF_USERS holds argon2
# hashes (`shopguide staff hash`); mount the key files outside the data volume (SHOPGUIDE_KEYS_DIR=/keys).
FROM python:3.11-slim-bookworm

ARG WITH_LOCAL_LLM=0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OPENBLAS_NUM_THREADS=1 \
    SHOPGUIDE_DATA_DIR=/data \
    SHOPGUIDE_KEYS_DIR=/keys \
    SHOPGUIDE_HOST=0.0.0.0 \
    SHOPGUIDE_PORT=7860

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY tools ./tools
COPY vectorstore ./vectorstore
COPY ui ./ui
COPY domain ./domain
COPY valuation ./valuation
COPY recommend ./recommend
COPY bench ./bench
COPY scripts ./scripts

# llama.cpp is compiled without -march=native: a native build crashes with SIGILL on other CPUs.
RUN if [ "$WITH_LOCAL_LLM" = "1" ]; then \
      CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" pip install -e '.[postgres,local]'; \
    else \
      pip install -e '.[postgres]'; \
    fi

RUN useradd --create-home --uid 10001 shopguide && mkdir -p /data /keys && chown shopguide /data /keys \
 && chmod 700 /keys
USER shopguide
VOLUME ["/data", "/keys"]
EXPOSE 7860

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD curl -fsS "http://127.0.0.1:${SHOPGUIDE_PORT}/healthz" >/dev/null || exit 1

# setup is idempotent: creates the schema, loads the demo shop into an empty store, builds the indexes.
CMD ["sh", "-c", "shopguide setup --no-prepare-llm && exec shopguide serve"]
