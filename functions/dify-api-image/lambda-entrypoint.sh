#!/bin/bash
# Entry point of the dify-api Lambda image: prepare a Lambda-friendly environment, load secrets,
# then hand over to Dify's own entrypoint (which starts gunicorn; the Lambda Web Adapter extension
# forwards invocations to it on DIFY_PORT).
set -euo pipefail

# Lambda's filesystem is read-only except /tmp (Lambda DG "Lambda execution environment",
# ephemeral storage), so everything that writes caches or state is pointed there.
export HOME=/tmp
export TMPDIR=/tmp
# matplotlib (pulled in by Dify's document extractors) writes a font cache to MPLCONFIGDIR.
export MPLCONFIGDIR=/tmp/matplotlib
# transformers / huggingface_hub (used by some tokenizers and rerankers) download into HF_HOME;
# TRANSFORMERS_CACHE is the older name that pinned transformers releases still read.
export HF_HOME=/tmp/huggingface
export TRANSFORMERS_CACHE=/tmp/huggingface/transformers
export XDG_CACHE_HOME=/tmp/.cache
# Dify's api image pre-downloads tiktoken encodings into TIKTOKEN_CACHE_DIR (/app/api/.tiktoken_cache)
# and NLTK data into NLTK_DATA (/usr/local/share/nltk_data) at build time. Those read-only caches
# are what saves network at runtime, so keep the image's values; fall back to /tmp only when unset.
export TIKTOKEN_CACHE_DIR="${TIKTOKEN_CACHE_DIR:-/tmp/tiktoken-cache}"
# The image's bytecode is precompiled at build time (see Dockerfile); any module that still lacks a
# .pyc cannot be cached on a read-only filesystem anyway, so skip the failing write attempts.
export PYTHONDONTWRITEBYTECODE=1

# Dify's entrypoint runs `flask upgrade-db` when MIGRATION_ENABLED=true, which would run on every
# cold start and race between concurrent instances. Migrations run once per deploy as an ECS task
# instead (docs/adr/0003), so this is forced off whatever the function configuration says.
export MIGRATION_ENABLED=false

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# DIFY_EDGE_NEXT replaces Dify's entrypoint (split on whitespace, no globbing), e.g. for tests.
if [[ -n "${DIFY_EDGE_NEXT:-}" ]]; then
  read -r -a next_command <<<"${DIFY_EDGE_NEXT}"
elif [[ -n "${AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH:-}" || -n "${AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH:-}" \
  || -n "${DIFY_EDGE_WAKE:-}" ]]; then
  # SnapStart (docs/adr/0017) or backend sleep (docs/adr/0018): gunicorn must load edge_app:app, Dify's app wrapped
  # with the SnapStart hooks the adapter POSTs before the snapshot and after each restore, and/or the middleware that
  # records use and wakes the backend. Dify's entrypoint hard-codes `app:app`, so its api-mode tail is repeated here
  # with the same flags and defaults (api/docker/entrypoint.sh of Dify 1.13.3: LANG/LC_ALL/PYTHONIOENCODING, then
  # `exec gunicorn --bind ... app:app`; test/containers/snapstart-hooks.test.ts compares them when the reference
  # sources are present). gunicorn still reads Dify's ./gunicorn.conf.py (gevent patching) from the working
  # directory, /app/api.
  export LANG="${LANG:-C.UTF-8}"
  export LC_ALL="${LC_ALL:-C.UTF-8}"
  export PYTHONIOENCODING="${PYTHONIOENCODING:-utf-8}"
  next_command=(gunicorn
    --bind "${DIFY_BIND_ADDRESS:-0.0.0.0}:${DIFY_PORT:-5001}"
    --workers "${SERVER_WORKER_AMOUNT:-1}"
    --worker-class "${SERVER_WORKER_CLASS:-gevent}"
    --worker-connections "${SERVER_WORKER_CONNECTIONS:-10}"
    --timeout "${GUNICORN_TIMEOUT:-200}"
    --pythonpath "${script_dir}"
    edge_app:app)
else
  next_command=(/bin/bash /entrypoint.sh)
fi

# exec keeps a single process tree: Lambda's shutdown signal reaches gunicorn directly, and the
# secrets live only in the environment of the exec'd process (never in a file or on a command line).
exec python3 "${script_dir}/secrets_loader.py" -- "${next_command[@]}" "$@"
