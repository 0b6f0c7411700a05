#!/bin/sh
# Entry point of the dify-web Lambda image. POSIX sh on purpose: dify-web is an Alpine image without bash.
set -eu

# Only /tmp is writable on Lambda (Lambda DG "Lambda execution environment"): pm2 keeps its state,
# pid files and logs under PM2_HOME, and Node/npm tooling writes under HOME.
export HOME=/tmp
export PM2_HOME=/tmp/.pm2
# .next/cache is a symlink to this directory (see Dockerfile); Next.js writes its image-optimisation
# and fetch caches there, and mkdir on a dangling symlink fails, so the target must exist first.
mkdir -p /tmp/next-cache
# Dify's image defaults to 2 pm2 instances; a Lambda environment serves one request at a time, so a
# second Next.js process would only add memory and cold-start time.
export PM2_INSTANCES="${DIFY_EDGE_PM2_INSTANCES:-1}"
# Next.js standalone listens on $HOSTNAME (next.js PR #44627), which a runtime may set to the
# container's own hostname; the adapter connects on 127.0.0.1, so listen on all interfaces.
export HOSTNAME=0.0.0.0

# DIFY_EDGE_NEXT replaces Dify's entrypoint (split on whitespace, no globbing), e.g. for tests.
set -f
# shellcheck disable=SC2086 # word splitting of DIFY_EDGE_NEXT is intended
exec ${DIFY_EDGE_NEXT:-/bin/sh /app/web/entrypoint.sh} "$@"
