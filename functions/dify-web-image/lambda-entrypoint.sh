#!/bin/sh
# Entry point of the dify-web Lambda image. POSIX sh on purpose: it must not depend on what the Alpine-based
# dify-web image ships beyond sh and node.
set -eu

# Only /tmp is writable on Lambda (Lambda DG "Lambda execution environment"): Node and npm tooling write under HOME.
export HOME=/tmp
# .next/cache is a symlink to this directory (see Dockerfile); Next.js writes its image-optimisation
# and fetch caches there, and mkdir on a dangling symlink fails, so the target must exist first.
mkdir -p /tmp/next-cache
# Next.js standalone listens on $HOSTNAME (next.js PR #44627), which a runtime may set to the
# container's own hostname; the adapter connects on 127.0.0.1, so listen on all interfaces.
export HOSTNAME=0.0.0.0

# The public site URL, which the browser code turns into its API prefix and CSRF cookie name; it must equal the
# api's console URL (site-url.js explains why it is read at start). A failure stops this start: Lambda retries the
# init on the next request rather than serving pages that could never log in.
if [ -n "${DIFY_EDGE_SITE_URL_SECRET:-}" ]; then
  script_dir=$(cd "$(dirname "$0")" && pwd)
  site_url=$(node "${script_dir}/site-url.js")
  export CONSOLE_API_URL="${site_url}"
  export APP_API_URL="${site_url}"
fi

# DIFY_EDGE_NEXT replaces Dify's entrypoint (split on whitespace, no globbing), e.g. for tests.
set -f
# shellcheck disable=SC2086 # word splitting of DIFY_EDGE_NEXT is intended
exec ${DIFY_EDGE_NEXT:-/bin/sh /app/web/entrypoint.sh} "$@"
