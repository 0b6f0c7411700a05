"""WSGI middleware of the api Lambda image for backend sleep (docs/adr/0018): records real use, wakes the backend.

The backend ECS service (Celery workers, beat, plugin daemon, sandbox) may be scaled to 0 by the sleep controller
when nobody used Dify for a while. This middleware, around Dify's app, is what tells the controller about use and
what brings the backend back:

- Activity: every real request (anything but `GET /health`, the path of the keep-warm schedule and of the Lambda Web
  Adapter's readiness check, lib/constructs/api-function.ts keepWarmEvent) sets the Redis key `dify-edge:last-use`
  (database 0, through Dify's own client `extensions.ext_redis.redis_client`) to the epoch seconds, EX 7 days, at
  most once per 30 s per process. A Redis error never fails the request: it is logged once until a write succeeds.
- Readiness: the plugin daemon (host:port of PLUGIN_DAEMON_URL, which runs in the backend task) accepts a TCP
  connection within 1 s. The answer is cached 30 s when ready, 3 s when not.
- Wake: when not ready, ecs:UpdateService desiredCount=1 on DIFY_EDGE_WAKE=`<cluster>/<service>` (names), in a
  background thread (gevent patches threading in Dify's gunicorn worker, api/gunicorn.conf.py), at most once per
  30 s per process. UpdateService is idempotent: asking again while the task starts changes nothing.
- While not ready, POST run endpoints (chat-messages, completion-messages, workflow runs: they would queue a Celery
  task nobody consumes, or call the daemon for plugin tools) answer 503 with Retry-After and a JSON body of the
  shape Dify's own errors have ({code, message, status}: handle_http_exception in api/libs/external_api.py of
  Dify). Everything else passes through unchanged, without waiting for the probe.

Lambda freezes the environment as soon as a response is complete (Lambda DG "Lambda execution environment",
invoke phase), so a background call may only finish at the next invocation. The 503 answer therefore waits (at
most WAKE_WAIT_SECONDS) for the wake call it started: that response carries no work, and its whole point is that
the backend starts. A request that Dify serves never waits for the wake.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlsplit

WAKE_VARIABLE = 'DIFY_EDGE_WAKE'
LAST_USE_KEY = 'dify-edge:last-use'
LAST_USE_TTL_SECONDS = 7 * 24 * 3600
LAST_USE_INTERVAL_SECONDS = 30.0
PROBE_TIMEOUT_SECONDS = 1.0
READY_TTL_SECONDS = 30.0
NOT_READY_TTL_SECONDS = 3.0
WAKE_INTERVAL_SECONDS = 30.0
WAKE_WAIT_SECONDS = 3.0
RETRY_AFTER_SECONDS = 30
KEEP_WARM_PATH = '/health'
# Dify's run endpoints (service API /v1, web app /api, console /console/api): chat and completion messages, and
# workflow runs (`.../workflows/run`, `.../workflows/draft/run`, node runs ending in `/run`).
RUN_PATH = re.compile(r'^/(v1|api|console/api)/.*(chat-messages|completion-messages|/run)$')
WAKING_BODY = {
    'code': 'backend_waking',
    'message': "Dify's backend is starting after being idle. Try again in about a minute.",
    'status': 503,
}
LOG_PREFIX = 'dify-edge wake:'

Wake = Callable[[str, str], None]
Connect = Callable[[Tuple[str, int], float], Any]


def log(message: str) -> None:
    sys.stderr.write(f"{LOG_PREFIX} {' '.join(message.split())}\n")
    sys.stderr.flush()


def daemon_address(url: str) -> Tuple[str, int]:
    """host and port of PLUGIN_DAEMON_URL (Dify's default is http://localhost:5002, api/configs/feature/__init__.py)."""
    parts = urlsplit(url or 'http://localhost:5002')
    default_port = 443 if parts.scheme == 'https' else 80
    return parts.hostname or 'localhost', parts.port or default_port


def parse_wake_target(value: str) -> Tuple[str, str]:
    cluster, separator, service = value.strip().partition('/')
    if not separator or not cluster or not service or '/' in service:
        raise ValueError(f'{WAKE_VARIABLE} must be "<cluster>/<service>", got {value!r}')
    return cluster, service


def update_service(cluster: str, service: str) -> None:
    """ecs:UpdateService desiredCount=1 with boto3 (in Dify's image); honours AWS_ENDPOINT_URL_ECS like any client."""
    client = _ecs_client()
    client.update_service(cluster=cluster, service=service, desiredCount=1)


_client_lock = threading.Lock()
_client: Optional[Any] = None


def _ecs_client() -> Any:
    global _client
    with _client_lock:
        if _client is None:
            import boto3
            from botocore.config import Config

            # Lambda sets AWS_REGION (and AWS_DEFAULT_REGION, the only one some botocore releases read).
            _client = boto3.session.Session().client(
                'ecs',
                region_name=os.environ.get('AWS_REGION') or None,
                config=Config(connect_timeout=2, read_timeout=5, retries={'mode': 'standard', 'max_attempts': 3}),
            )
        return _client


def tcp_connect(address: Tuple[str, int], timeout: float) -> None:
    connection = socket.create_connection(address, timeout=timeout)
    connection.close()


class DaemonProbe:
    """Is the plugin daemon accepting connections? Cached: READY_TTL_SECONDS if so, NOT_READY_TTL_SECONDS if not."""

    def __init__(
        self,
        address: Tuple[str, int],
        connect: Connect = tcp_connect,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.connect = connect
        self.clock = clock
        self.lock = threading.Lock()
        self.ready: Optional[bool] = None
        self.expires = 0.0

    def cached(self) -> Optional[bool]:
        return self.ready if self.ready is not None and self.clock() < self.expires else None

    def check(self) -> bool:
        with self.lock:
            cached = self.cached()
            if cached is not None:
                return cached
            try:
                self.connect(self.address, PROBE_TIMEOUT_SECONDS)
                ready = True
            except OSError:
                ready = False
            self.ready = ready
            self.expires = self.clock() + (READY_TTL_SECONDS if ready else NOT_READY_TTL_SECONDS)
            return ready


class BackendWake:
    """The middleware (see the module docstring)."""

    def __init__(
        self,
        wsgi_app: Callable[..., Iterable[bytes]],
        environ: Optional[Dict[str, str]] = None,
        wake: Wake = update_service,
        connect: Connect = tcp_connect,
        redis_client: Optional[Callable[[], Any]] = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        source = os.environ if environ is None else environ
        self.wsgi_app = wsgi_app
        self.cluster, self.service = parse_wake_target(source.get(WAKE_VARIABLE, ''))
        self.probe = DaemonProbe(daemon_address(source.get('PLUGIN_DAEMON_URL', '')), connect, clock)
        self.wake = wake
        self.redis_client = redis_client or _dify_redis_client
        self.clock = clock
        self.wall_clock = wall_clock
        self.lock = threading.Lock()
        self.last_use_written: Optional[float] = None
        self.redis_failing = False
        self.last_wake: Optional[float] = None
        self.background_probe: Optional[threading.Thread] = None

    # --- WSGI ---------------------------------------------------------------------------------------------------
    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get('REQUEST_METHOD', '')
        path = environ.get('PATH_INFO', '')
        if method == 'GET' and path == KEEP_WARM_PATH:
            return self.wsgi_app(environ, start_response)
        self.record_use()
        if method == 'POST' and RUN_PATH.match(path):
            if not self.probe.check():
                waking = self.request_wake()
                if waking is not None:
                    waking.join(WAKE_WAIT_SECONDS)
                return self.waking(start_response)
        else:
            self.probe_in_background()
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def waking(start_response: Callable[..., Any]) -> List[bytes]:
        payload = json.dumps(WAKING_BODY, separators=(',', ':')).encode('utf-8')
        start_response(
            '503 Service Unavailable',
            [
                ('Content-Type', 'application/json'),
                ('Content-Length', str(len(payload))),
                ('Retry-After', str(RETRY_AFTER_SECONDS)),
            ],
        )
        return [payload]

    # --- activity -----------------------------------------------------------------------------------------------
    def record_use(self) -> None:
        now = self.clock()
        with self.lock:
            if self.last_use_written is not None and now - self.last_use_written < LAST_USE_INTERVAL_SECONDS:
                return
            # Counted as an attempt even if it fails: a broken Redis is not retried on every request.
            self.last_use_written = now
        try:
            self.redis_client().set(LAST_USE_KEY, str(int(self.wall_clock())), ex=LAST_USE_TTL_SECONDS)
        except Exception as error:  # noqa: BLE001 - no Redis failure may fail the request
            if not self.redis_failing:
                log(f'cannot record use in Redis ({type(error).__name__}: {error}); requests are served anyway')
            self.redis_failing = True
            return
        if self.redis_failing:
            log('recording use in Redis works again')
        self.redis_failing = False

    # --- readiness and wake -------------------------------------------------------------------------------------
    def probe_in_background(self) -> None:
        cached = self.probe.cached()
        if cached is not None:
            if not cached:
                self.request_wake()
            return
        with self.lock:
            if self.background_probe is not None and self.background_probe.is_alive():
                return
            self.background_probe = threading.Thread(target=self._probe_then_wake, daemon=True)
            self.background_probe.start()

    def _probe_then_wake(self) -> None:
        if not self.probe.check():
            self.request_wake()

    def request_wake(self) -> Optional[threading.Thread]:
        """Starts one wake call unless one was started less than WAKE_INTERVAL_SECONDS ago; returns its thread."""
        now = self.clock()
        with self.lock:
            if self.last_wake is not None and now - self.last_wake < WAKE_INTERVAL_SECONDS:
                return None
            self.last_wake = now
        thread = threading.Thread(target=self._wake, daemon=True)
        thread.start()
        return thread

    def _wake(self) -> None:
        try:
            self.wake(self.cluster, self.service)
        except Exception as error:  # noqa: BLE001 - logged; the next request after the interval tries again
            log(f'UpdateService {self.cluster}/{self.service} desiredCount=1 failed: {type(error).__name__}: {error}')
            return
        log(f'backend not ready (plugin daemon {self.probe.address[0]}:{self.probe.address[1]}): asked ECS to start '
            f'{self.cluster}/{self.service} (desiredCount=1)')


def _dify_redis_client() -> Any:
    # Imported on use: Dify's client (api/extensions/ext_redis.py) is initialized by create_app, after this module.
    from extensions.ext_redis import redis_client

    return redis_client
