/**
 * The backend sleep controller's decision, free of I/O (docs/adr/0018): given what was observed (the ECS service,
 * Dify's Redis, the upload relay's invocations) and the settings, sleep (desired count 0), wake (desired count 1)
 * or stay as it is. Everything that cannot be read counts against sleeping: a wrong "stay" costs a few cents of
 * Fargate, a wrong "sleep" drops a user's work.
 */

export type SleepMode = 'idle' | 'working-hours';

export interface WorkingHours {
  /** EventBridge cron day-of-week field, names only: `MON-FRI`, `MON,WED,FRI`, `SAT-SUN`. */
  readonly days: string;
  /** `HH:MM`, 24 h. */
  readonly start: string;
  /** `HH:MM`, after `start`. */
  readonly end: string;
  /** IANA time zone of `start` and `end`. */
  readonly timeZone: string;
}

export interface SleepSettings {
  readonly mode: SleepMode;
  readonly idleMinutes: number;
  readonly workingHours: WorkingHours;
}

/**
 * A worker marks a Celery task running for as long as it runs. A mark older than this is left over from a task
 * whose worker was killed (SIGKILL after the stop timeout) and never ran its task_postrun hook; Dify's longest
 * tasks (indexing a large document) take minutes to an hour, not half a day.
 */
export const RUNNING_TASK_MAX_AGE_SECONDS = 12 * 3600;

export interface ServiceDeployment {
  /** PRIMARY, ACTIVE (an older one still draining) or INACTIVE. */
  readonly status: string;
  /** COMPLETED, FAILED or IN_PROGRESS. */
  readonly rolloutState?: string;
  /** Epoch seconds of the deployment's last change. */
  readonly updatedAtEpochSeconds?: number;
}

export interface ServiceState {
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly deployments: readonly ServiceDeployment[];
}

/** A field of the `dify-edge:running` hash: `<ecs-task-id>:<celery-task-id>` = `<epoch-seconds> <task-name>`. */
export interface RunningTask {
  readonly field: string;
  readonly value: string;
}

/** A Celery queue list (or one of its priority lists) in the broker database that holds messages. */
export interface QueuedMessages {
  readonly key: string;
  readonly length: number;
}

export interface Activity {
  /** Raw value of `dify-edge:last-use` (epoch seconds), or undefined when the key does not exist. */
  readonly lastUse: string | undefined;
  readonly runningTasks: readonly RunningTask[];
  /** Only the lists that are not empty. */
  readonly queued: readonly QueuedMessages[];
  /** Entries of kombu's `unacked` hash: messages a worker has taken but not acknowledged yet. */
  readonly unacked: number;
}

/** Either what was read, or why it could not be. */
export type Reading<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface ObservedState {
  readonly nowEpochSeconds: number;
  readonly service: ServiceState;
  readonly activity: Reading<Activity>;
  /** Invocations of the upload relay over the idle window; undefined when no relay is configured. */
  readonly relayInvocations?: Reading<number>;
}

export type SleepAction = 'sleep' | 'wake' | 'stay';

export interface SleepDecision {
  readonly action: SleepAction;
  readonly reasons: string[];
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

/**
 * The days an EventBridge cron day-of-week field names (EventBridge User Guide "Cron expressions": SUN-SAT, a range
 * `A-B`, a list `A,B`). A range that goes past SAT wraps around (FRI-MON is FRI, SAT, SUN, MON).
 */
export function parseDays(days: string): Set<(typeof DAY_NAMES)[number]> {
  const result = new Set<(typeof DAY_NAMES)[number]>();
  const indexOf = (name: string): number => {
    const index = DAY_NAMES.indexOf(name.trim().toUpperCase() as (typeof DAY_NAMES)[number]);
    if (index < 0) throw new Error(`working hours: "${name}" is not a day name (SUN, MON, ... SAT) in "${days}"`);
    return index;
  };
  for (const part of days.split(',')) {
    const [from, to, extra] = part.split('-');
    if (extra !== undefined) throw new Error(`working hours: "${part}" is not a day or a range of days`);
    const first = indexOf(from);
    const last = to === undefined ? first : indexOf(to);
    for (let offset = 0; offset <= (last - first + 7) % 7; offset++) result.add(DAY_NAMES[(first + offset) % 7]);
  }
  return result;
}

function minutesOfDay(clock: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(clock);
  if (!match) throw new Error(`working hours: "${clock}" is not a time HH:MM`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Day of week and minutes since midnight of `epochSeconds` in `timeZone`, by Intl (it knows every DST rule). */
export function localTime(epochSeconds: number, timeZone: string): { day: string; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(epochSeconds * 1000));
  const part = (type: string): string => parts.find((candidate) => candidate.type === type)?.value ?? '';
  return { day: part('weekday').toUpperCase(), minutes: Number(part('hour')) * 60 + Number(part('minute')) };
}

/** True from `start` (inclusive) to `end` (exclusive) on the listed days, in the configured time zone. */
export function isWithinWorkingHours(epochSeconds: number, hours: WorkingHours): boolean {
  const { day, minutes } = localTime(epochSeconds, hours.timeZone);
  const days = parseDays(hours.days) as Set<string>;
  return days.has(day) && minutes >= minutesOfDay(hours.start) && minutes < minutesOfDay(hours.end);
}

function ago(nowEpochSeconds: number, epochSeconds: number): string {
  const minutes = Math.max(0, Math.floor((nowEpochSeconds - epochSeconds) / 60));
  return `${minutes} min ago`;
}

/** `<epoch-seconds> <task-name>` → the start time, or undefined when the value is not in that shape. */
function runningSince(task: RunningTask): number | undefined {
  const match = /^(\d+)(?:\s|$)/.exec(task.value);
  return match ? Number(match[1]) : undefined;
}

/** Why the service must keep running, from what Redis and CloudWatch said; empty when nothing is in use. */
function usageReasons(observed: ObservedState, settings: SleepSettings): { busy: string[]; idle: string[] } {
  const now = observed.nowEpochSeconds;
  const windowStart = now - settings.idleMinutes * 60;
  const busy: string[] = [];
  const idle: string[] = [];

  // A deploy or a wake changes the primary deployment: give a fresh task a whole idle window before judging it.
  const primary = observed.service.deployments.find((deployment) => deployment.status === 'PRIMARY');
  if (primary?.updatedAtEpochSeconds !== undefined && primary.updatedAtEpochSeconds > windowStart) {
    busy.push(`service deployment updated ${ago(now, primary.updatedAtEpochSeconds)}`);
  }

  if (!observed.activity.ok) {
    busy.push(`could not read Redis (${observed.activity.error})`);
  } else {
    const activity = observed.activity.value;
    if (activity.lastUse === undefined) {
      idle.push('no real request recorded (dify-edge:last-use absent)');
    } else if (!/^\d+$/.test(activity.lastUse.trim())) {
      busy.push(`dify-edge:last-use is not epoch seconds (${JSON.stringify(activity.lastUse.slice(0, 40))})`);
    } else {
      const lastUse = Number(activity.lastUse.trim());
      if (lastUse > windowStart)
        busy.push(`last real request ${ago(now, lastUse)} (idle after ${settings.idleMinutes})`);
      else idle.push(`last real request ${ago(now, lastUse)}`);
    }
    const running = activity.runningTasks.filter((task) => {
      const since = runningSince(task);
      // A value we cannot read is taken as running: better a backend that stays up than a task cut off.
      return since === undefined || since > now - RUNNING_TASK_MAX_AGE_SECONDS;
    });
    if (running.length > 0) {
      const names = running.slice(0, 5).map((task) => task.value.split(/\s+/).slice(1).join(' ') || task.field);
      busy.push(`${running.length} Celery task(s) running: ${names.join(', ')}${running.length > 5 ? ', ...' : ''}`);
    } else {
      const stale = activity.runningTasks.length;
      idle.push(
        stale > 0 ? `no Celery task running (${stale} mark(s) older than 12 h ignored)` : 'no Celery task running',
      );
    }
    if (activity.queued.length > 0) {
      const lists = activity.queued.map((queue) => `${printableKey(queue.key)}=${queue.length}`);
      busy.push(`Celery messages waiting: ${lists.join(', ')}`);
    } else {
      idle.push('Celery queues empty');
    }
    if (activity.unacked > 0) busy.push(`${activity.unacked} Celery message(s) taken but not acknowledged`);
    else idle.push('no unacknowledged Celery message');
  }

  const relay = observed.relayInvocations;
  if (relay !== undefined) {
    if (!relay.ok) busy.push(`could not read the upload relay's invocations (${relay.error})`);
    else if (relay.value > 0) {
      busy.push(
        `upload relay invoked ${relay.value} time(s) in the last ${settings.idleMinutes} min (plugin endpoints)`,
      );
    } else idle.push(`upload relay not invoked in the last ${settings.idleMinutes} min`);
  }
  return { busy, idle };
}

/** kombu's priority lists are `<queue>\x06\x16<n>`; show the separator readably in logs. */
export function printableKey(key: string): string {
  return key.replace(/\x06\x16/g, '\\x06\\x16');
}

/**
 * The rules, in order:
 * 1. A deployment in progress (a rollout, or an older deployment still draining): do nothing; ECS is changing it.
 * 2. Desired count 0: asleep. Wake only in working-hours mode inside the hours; otherwise the api or the relay wakes
 *    it on use.
 * 3. Inside working hours (working-hours mode): keep it running.
 * 4. Running count differs from desired, or tasks pending: it is starting (or being replaced); do not judge yet.
 * 5. Sleep only when nothing at all says it is in use.
 */
export function decide(observed: ObservedState, settings: SleepSettings): SleepDecision {
  const { service } = observed;
  const live = service.deployments.filter((deployment) => deployment.status !== 'INACTIVE');
  const rolling = live.filter((deployment) => deployment.rolloutState === 'IN_PROGRESS');
  if (rolling.length > 0 || live.length > 1) {
    return { action: 'stay', reasons: [`deployment in progress (${live.length} active deployment(s))`] };
  }
  const inHours =
    settings.mode === 'working-hours' && isWithinWorkingHours(observed.nowEpochSeconds, settings.workingHours);
  const hoursText = `${settings.workingHours.days} ${settings.workingHours.start}-${settings.workingHours.end} ${settings.workingHours.timeZone}`;
  if (service.desiredCount === 0) {
    if (inHours) return { action: 'wake', reasons: [`inside working hours (${hoursText})`, 'desired count is 0'] };
    return { action: 'stay', reasons: ['asleep (desired count 0); the next real use wakes it'] };
  }
  if (inHours) return { action: 'stay', reasons: [`inside working hours (${hoursText})`] };
  if (service.runningCount !== service.desiredCount || service.pendingCount > 0) {
    return {
      action: 'stay',
      reasons: [
        `starting: ${service.runningCount} running, ${service.pendingCount} pending of ${service.desiredCount} desired`,
      ],
    };
  }
  const { busy, idle } = usageReasons(observed, settings);
  if (busy.length > 0) return { action: 'stay', reasons: busy };
  return { action: 'sleep', reasons: idle };
}
