"""Dify's WSGI app wrapped with the SnapStart hooks that the Lambda Web Adapter relays over HTTP.

When SnapStart is on, gunicorn loads `edge_app:app` instead of Dify's `app:app` (lambda-entrypoint.sh), and edge_app
puts this middleware outermost around Dify's app. It answers two extra paths, named by the function's environment:

  AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH  POSTed by the adapter once Dify is ready, just before Lambda takes the
                                            snapshot (when the version is published).
  AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH      POSTed by the adapter in every environment restored from the snapshot,
                                            before it re-checks readiness and forwards the first request.

A non-2xx answer fails the phase (aws-lambda-web-adapter README, SnapStart; PRs #837 and #871); the adapter answers
403 to outside callers of these paths. This wrapper answers only the exact configured path with POST: a path that
merely normalizes to it (`/v1/../_snapstart/...`, `//_snapstart/...`) goes to Dify, which has no such route.

Why these hooks (Lambda DG "Handling uniqueness with Lambda SnapStart", "Implementing SnapStart hooks for container
images"): one snapshot seeds many environments. TCP connections open at snapshot time are dead after a restore, the
`random` module's state is identical in every restored environment, and values read at init (the site URL, written
after the version is published: docs/adr/0006, docs/adr/0017) are frozen.

Before checkpoint: dispose the SQLAlchemy engine's pool (Flask-SQLAlchemy `db` of Dify's extensions.ext_database)
and disconnect the Redis pool (extensions.ext_redis.redis_client). Both reconnect lazily on next use (SQLAlchemy
`Engine.dispose()`, redis-py `ConnectionPool.disconnect()`).
After restore: reseed `random` (and NumPy's legacy global generator, if loaded) from os.urandom; re-read the secrets
named in DIFY_EDGE_SECRETS with one fresh BatchGetSecretValue call (new botocore session, so the restored
environment's own credentials sign it) and apply every value that changed to os.environ, Dify's `dify_config` and
the Flask `app.config`; rebuild the storage client (extensions.ext_storage.storage), whose boto3 client was
created at init.

Every step that finds nothing to act on logs "skipped"; a step that raises fails the phase, so a bad snapshot
fails the publish (before checkpoint) or the restore (after restore) instead of serving broken environments.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

BEFORE_CHECKPOINT_VARIABLE = 'AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH'
AFTER_RESTORE_VARIABLE = 'AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH'
LOG_PREFIX = 'dify-edge snapstart:'

Step = Tuple[str, Callable[[], str]]


def log(message: str) -> None:
    # One line per event on stderr: each shows up as one CloudWatch log event of the init or restore phase.
    sys.stderr.write(f"{LOG_PREFIX} {' '.join(message.split())}\n")
    sys.stderr.flush()


def optional_attribute(module_name: str, attribute: str) -> Optional[Any]:
    """`module.attribute`, or None when the module is not importable (a Dify release without that extension)."""
    try:
        module = __import__(module_name, fromlist=[attribute])
    except ImportError:
        return None
    return getattr(module, attribute, None)


def sqlalchemy_engines(db: Any) -> List[Any]:
    # Flask-SQLAlchemy 3 keeps one engine per bind in `db.engines` (needs an app context); `db.engine` is the default.
    engines = getattr(db, 'engines', None)
    if isinstance(engines, dict) and engines:
        return list(engines.values())
    engine = getattr(db, 'engine', None)
    return [engine] if engine is not None else []


def redis_pools(client: Any) -> List[Any]:
    # Dify wraps redis-py's client (`RedisClientWrapper`, initialized by ext_redis.init_app); look through the wrapper.
    pools = []
    for candidate in (client, getattr(client, '_client', None)):
        pool = getattr(candidate, 'connection_pool', None)
        if pool is not None and pool not in pools:
            pools.append(pool)
    return pools


class SnapStartHooks:
    """WSGI middleware: the two hook paths, everything else to the wrapped app."""

    def __init__(
        self,
        wsgi_app: Callable[..., Iterable[bytes]],
        flask_app: Any,
        environ: Optional[Dict[str, str]] = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        source = os.environ if environ is None else environ
        self.before_checkpoint_path = source.get(BEFORE_CHECKPOINT_VARIABLE, '')
        self.after_restore_path = source.get(AFTER_RESTORE_VARIABLE, '')

    # --- WSGI ---------------------------------------------------------------------------------------------------
    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get('PATH_INFO', '')
        if path and path in (self.before_checkpoint_path, self.after_restore_path):
            if environ.get('REQUEST_METHOD') != 'POST':
                return self.respond(start_response, '405 Method Not Allowed', {'error': 'POST only'})
            phase = 'before-checkpoint' if path == self.before_checkpoint_path else 'after-restore'
            steps = self.before_checkpoint_steps() if phase == 'before-checkpoint' else self.after_restore_steps()
            ok, report = self.run(phase, steps)
            return self.respond(start_response, '200 OK' if ok else '500 Internal Server Error', report)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def respond(start_response: Callable[..., Any], status: str, body: Dict[str, Any]) -> List[bytes]:
        payload = json.dumps(body, separators=(',', ':')).encode('utf-8')
        start_response(status, [('Content-Type', 'application/json'), ('Content-Length', str(len(payload)))])
        return [payload]

    def run(self, phase: str, steps: List[Step]) -> Tuple[bool, Dict[str, Any]]:
        started = time.monotonic()
        results: Dict[str, str] = {}
        for name, step in steps:
            try:
                results[name] = step()
            except Exception as error:  # noqa: BLE001 - any failure must fail the phase, with its reason logged
                results[name] = f'failed: {type(error).__name__}: {error}'
                log(f'{phase} step {name} failed: {type(error).__name__}: {error}')
                return False, {'phase': phase, 'ok': False, 'steps': results}
        elapsed_ms = round((time.monotonic() - started) * 1000)
        log(f"{phase} done in {elapsed_ms} ms: {'; '.join(f'{k}={v}' for k, v in results.items())}")
        return True, {'phase': phase, 'ok': True, 'steps': results, 'ms': elapsed_ms}

    def app_context(self) -> Any:
        context = getattr(self.flask_app, 'app_context', None)
        return context() if context is not None else _NullContext()

    # --- before checkpoint --------------------------------------------------------------------------------------
    def before_checkpoint_steps(self) -> List[Step]:
        return [('database', self.dispose_database), ('redis', self.disconnect_redis)]

    def dispose_database(self) -> str:
        db = optional_attribute('extensions.ext_database', 'db')
        if db is None:
            return 'skipped (no extensions.ext_database.db)'
        with self.app_context():
            engines = sqlalchemy_engines(db)
            for engine in engines:
                engine.dispose()
        return f'disposed {len(engines)} engine(s)'

    def disconnect_redis(self) -> str:
        client = optional_attribute('extensions.ext_redis', 'redis_client')
        pools = redis_pools(client) if client is not None else []
        if not pools:
            return 'skipped (no redis connection pool)'
        for pool in pools:
            pool.disconnect()
        return f'disconnected {len(pools)} pool(s)'

    # --- after restore ------------------------------------------------------------------------------------------
    def after_restore_steps(self) -> List[Step]:
        return [
            ('random', self.reseed),
            ('settings', self.refresh_settings),
            ('storage', self.refresh_storage),
        ]

    def reseed(self) -> str:
        # os.urandom is fresh in every restored environment (Lambda DG "Handling uniqueness with Lambda SnapStart":
        # /dev/urandom and getrandom are reseeded on restore); the `random` module's Mersenne Twister is not.
        random.seed(os.urandom(32))
        seeded = ['random']
        numpy = sys.modules.get('numpy')
        legacy_seed = getattr(getattr(numpy, 'random', None), 'seed', None)
        if callable(legacy_seed):
            legacy_seed(int.from_bytes(os.urandom(4), 'big'))
            seeded.append('numpy.random')
        return 'reseeded ' + ','.join(seeded)

    def refresh_settings(self) -> str:
        if not os.environ.get('DIFY_EDGE_SECRETS', '').strip():
            return 'skipped (no DIFY_EDGE_SECRETS)'
        import secrets_loader

        fresh = secrets_loader.build_environment(os.environ)
        changed = sorted(name for name, value in fresh.items() if os.environ.get(name) != value)
        config = optional_attribute('configs', 'dify_config')
        flask_config = getattr(self.flask_app, 'config', None)
        for name in changed:
            os.environ[name] = fresh[name]
            # DifyConfig is a pydantic-settings model (api/configs/app_config.py), not frozen: attributes can be
            # assigned. app.config is a copy made at create_app (api/app_factory.py: from_mapping(model_dump())).
            if config is not None and name in type(config).model_fields:
                setattr(config, name, fresh[name])
            if flask_config is not None and name in flask_config:
                flask_config[name] = fresh[name]
        # Names only: values are secrets.
        return f"{len(changed)} changed ({','.join(changed)})" if changed else 'unchanged'

    def refresh_storage(self) -> str:
        storage = optional_attribute('extensions.ext_storage', 'storage')
        init_app = getattr(storage, 'init_app', None)
        if not callable(init_app):
            return 'skipped (no extensions.ext_storage.storage.init_app)'
        with self.app_context():
            init_app(self.flask_app)
        return 'rebuilt'


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

