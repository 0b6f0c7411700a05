"""The WSGI app gunicorn loads in the api Lambda image when SnapStart is on or backend sleep is (lambda-entrypoint.sh).

Dify's own `app:app` (api/docker/entrypoint.sh; the working directory is /app/api), wrapped, from the outside in:

  SnapStartHooks  (snapstart_app.py) when AWS_LWA_SNAPSTART_*_PATH are set: the adapter's hook paths never count as
                  use and never wait for the backend.
  BackendWake     (backend_wake.py) when DIFY_EDGE_WAKE is set: records use, wakes a sleeping backend.
  Dify's app      unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from app import app as _dify_app

app: Any = _dify_app

if os.environ.get('DIFY_EDGE_WAKE', '').strip():
    from backend_wake import BackendWake

    app = BackendWake(app)

if os.environ.get('AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH') or os.environ.get('AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH'):
    from snapstart_app import SnapStartHooks

    app = SnapStartHooks(app, _dify_app)
