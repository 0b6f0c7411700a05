"""Dify's Celery app with a hook that tells the backend sleep controller which tasks are running (docs/adr/0018).

The worker containers start `celery -A worker_activity.celery worker ...` instead of Dify's
`celery -A celery_entrypoint.celery worker ...` (api/docker/entrypoint.sh of Dify 1.13.3, worker mode). This module
imports Dify's celery_entrypoint unchanged (its gevent patches for gRPC and psycopg, then `from app import app,
celery`) and re-exports the same Celery app, so the worker runs exactly Dify's app, tasks and configuration; it only
connects three Celery signals (Celery docs, "Signals": task_prerun, task_postrun, worker_ready):

  task_prerun   HSET dify-edge:running <ecs-task-id>:<celery-task-id> "<epoch seconds> <task name>"
  task_postrun  HDEL dify-edge:running <ecs-task-id>:<celery-task-id>   (sent whatever the task's outcome)
  worker_ready  HDEL every field whose <ecs-task-id> is not this task's: left behind by a task that was stopped
                mid-run (Spot interruption, SIGKILL after the stop timeout). Only one backend task ever runs (the
                service's deployment allows 0 % to 100 %), so another task's fields are never live.

The hash lives in Dify's Redis database 0, written through Dify's own client (extensions.ext_redis.redis_client),
so it uses the same endpoint, TLS and password as everything else Dify does. The ECS task id is the last segment
of TaskARN in the task metadata endpoint v4 ($ECS_CONTAINER_METADATA_URI_V4/task; Amazon ECS DG "Amazon ECS task
metadata endpoint version 4"); without it (not on ECS) the host name is used, and said so in the log.

A Redis error never fails a task: it is logged and the task runs. The controller ignores fields older than 12 h,
so a missed HDEL delays sleep at most that long.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import urllib.request
from typing import Any, Optional

from celery import signals as _signals

RUNNING_KEY = 'dify-edge:running'
METADATA_VARIABLE = 'ECS_CONTAINER_METADATA_URI_V4'

logger = logging.getLogger('dify_edge.worker_activity')

_task_id: Optional[str] = None


def ecs_task_id() -> str:
    """This ECS task's id (cached), or the host name when the metadata endpoint is not there."""
    global _task_id
    if _task_id is None:
        _task_id = _read_task_id()
    return _task_id


def _read_task_id() -> str:
    base = os.environ.get(METADATA_VARIABLE, '').strip()
    if base:
        try:
            with urllib.request.urlopen(f'{base.rstrip("/")}/task', timeout=5) as response:
                arn = str(json.load(response)['TaskARN'])
            return arn.rsplit('/', 1)[-1]
        except Exception as error:  # noqa: BLE001 - fall back to the host name, loudly
            logger.warning('dify-edge: cannot read the ECS task id from %s/task: %s', base, error)
    else:
        logger.warning('dify-edge: %s is not set (not on ECS?)', METADATA_VARIABLE)
    name = socket.gethostname()
    logger.warning('dify-edge: running tasks are recorded under the host name %s', name)
    return name


def _redis() -> Any:
    # Imported on use: Dify's client is initialized by create_app (api/extensions/ext_redis.py), during the import
    # of celery_entrypoint below.
    from extensions.ext_redis import redis_client

    return redis_client


def _field(task_id: Any) -> str:
    return f'{ecs_task_id()}:{task_id}'


def on_task_prerun(sender: Any = None, task_id: Any = None, task: Any = None, **_: Any) -> None:
    name = getattr(task, 'name', None) or getattr(sender, 'name', None) or 'unknown'
    try:
        _redis().hset(RUNNING_KEY, _field(task_id), f'{int(time.time())} {name}')
    except Exception as error:  # noqa: BLE001 - never fail a task over bookkeeping
        logger.warning('dify-edge: cannot record running task %s (%s): %s', task_id, name, error)


def on_task_postrun(sender: Any = None, task_id: Any = None, **_: Any) -> None:
    try:
        _redis().hdel(RUNNING_KEY, _field(task_id))
    except Exception as error:  # noqa: BLE001 - never fail a task over bookkeeping
        logger.warning('dify-edge: cannot clear running task %s: %s', task_id, error)


def on_worker_ready(**_: Any) -> None:
    own = ecs_task_id()
    try:
        client = _redis()
        stale = [
            field
            for field in (_text(raw) for raw in client.hkeys(RUNNING_KEY))
            if field.split(':', 1)[0] != own
        ]
        if stale:
            client.hdel(RUNNING_KEY, *stale)
        logger.info('dify-edge: worker ready in task %s; cleared %d field(s) of other tasks', own, len(stale))
    except Exception as error:  # noqa: BLE001 - the worker must start anyway
        logger.warning('dify-edge: cannot clear running-task fields of other tasks: %s', error)


def _text(value: Any) -> str:
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


# weak=False: Celery holds receivers weakly by default; these module functions live as long as the module anyway.
_signals.task_prerun.connect(on_task_prerun, weak=False)
_signals.task_postrun.connect(on_task_postrun, weak=False)
_signals.worker_ready.connect(on_worker_ready, weak=False)

# Dify's Celery app, as `celery -A celery_entrypoint.celery` would load it.
from celery_entrypoint import celery  # noqa: E402

__all__ = ['celery']
