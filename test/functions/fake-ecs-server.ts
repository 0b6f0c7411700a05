/**
 * Stand-in for the Amazon ECS API on 127.0.0.1, speaking its awsJson1_1 wire protocol: `POST /` with
 * `x-amz-target: AmazonEC2ContainerServiceV20141113.<Operation>`, JSON bodies, and errors as
 * `{"__type", "message"}` with status 400. It records every request so tests can assert what was sent.
 */
import { Hono } from 'hono';
import { startLocalServer, type LocalServer } from './local-server';

const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

export interface RecordedEcsCall {
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

/** What DescribeTasks reports for the task, one entry per call; the last entry repeats. */
export interface TaskSnapshot {
  readonly lastStatus: string;
  readonly desiredStatus?: string;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly containers?: ReadonlyArray<{ name: string; exitCode?: number; reason?: string; lastStatus?: string }>;
}

/** A service as DescribeServices reports it; UpdateService changes its desiredCount. */
export interface ServiceSnapshot {
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  deployments: Array<{ status: string; rolloutState?: string; updatedAt?: number }>;
}

export interface FakeEcs extends LocalServer {
  readonly calls: RecordedEcsCall[];
  /** When set, RunTask answers with these failures and no task, as ECS does on capacity shortages. */
  runTaskFailures: Array<{ arn?: string; reason: string; detail?: string }> | undefined;
  /** Snapshots DescribeTasks walks through; an empty list makes the task MISSING. */
  taskSnapshots: TaskSnapshot[];
  readonly taskArn: string;
  /** Services by name, for DescribeServices and UpdateService (absent: MISSING). */
  readonly services: Map<string, ServiceSnapshot>;
  callsTo(operation: string): RecordedEcsCall[];
}

function errorResponse(type: string, message: string): Response {
  return new Response(JSON.stringify({ __type: type, message }), {
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.1' },
  });
}

function jsonResponse(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' } });
}

function serviceResponse(cluster: string, name: string, service: ServiceSnapshot): Record<string, unknown> {
  return {
    serviceArn: `arn:aws:ecs:ap-northeast-1:123456789012:service/${cluster}/${name}`,
    serviceName: name,
    clusterArn: `arn:aws:ecs:ap-northeast-1:123456789012:cluster/${cluster}`,
    status: 'ACTIVE',
    desiredCount: service.desiredCount,
    runningCount: service.runningCount,
    pendingCount: service.pendingCount,
    deployments: service.deployments.map((deployment, index) => ({
      id: `ecs-svc/${1000 + index}`,
      status: deployment.status,
      rolloutState: deployment.rolloutState,
      updatedAt: deployment.updatedAt,
      desiredCount: service.desiredCount,
    })),
  };
}

export async function startFakeEcs(): Promise<FakeEcs> {
  const taskArn = 'arn:aws:ecs:ap-northeast-1:123456789012:task/dify-cluster/0f1e2d3c4b5a69788796a5b4c3d2e1f0';
  let describeCount = 0;
  const calls: RecordedEcsCall[] = [];
  const services = new Map<string, ServiceSnapshot>();
  const app = new Hono();
  const state = {
    runTaskFailures: undefined as FakeEcs['runTaskFailures'],
    taskSnapshots: [] as TaskSnapshot[],
  };

  app.post('/', async (c) => {
    const target = c.req.header('x-amz-target') ?? '';
    if (!(c.req.header('authorization') ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return errorResponse('MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    if (!target.startsWith(TARGET_PREFIX) || c.req.header('content-type') !== 'application/x-amz-json-1.1') {
      return errorResponse('UnknownOperationException', `unexpected target ${target}`);
    }
    const operation = target.slice(TARGET_PREFIX.length);
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      return errorResponse('SerializationException', 'body is not JSON');
    }
    calls.push({ operation, body });
    if (typeof body.cluster !== 'string') {
      return errorResponse('InvalidParameterException', 'cluster is required by this stand-in');
    }
    const createdAt = 1_767_225_600.123;

    switch (operation) {
      case 'RunTask': {
        if (typeof body.taskDefinition !== 'string') {
          return errorResponse('InvalidParameterException', 'taskDefinition is required');
        }
        if (state.runTaskFailures !== undefined) {
          return jsonResponse({ tasks: [], failures: state.runTaskFailures });
        }
        return jsonResponse({
          tasks: [
            {
              taskArn,
              clusterArn: body.cluster,
              taskDefinitionArn: body.taskDefinition,
              lastStatus: 'PROVISIONING',
              desiredStatus: 'RUNNING',
              launchType: body.launchType,
              startedBy: body.startedBy,
              createdAt,
              containers: [{ name: 'migration', lastStatus: 'PENDING', taskArn }],
            },
          ],
          failures: [],
        });
      }
      case 'DescribeTasks': {
        const requested = Array.isArray(body.tasks) ? (body.tasks as string[]) : [];
        if (state.taskSnapshots.length === 0 || !requested.includes(taskArn)) {
          return jsonResponse({ tasks: [], failures: requested.map((arn) => ({ arn, reason: 'MISSING' })) });
        }
        const snapshot = state.taskSnapshots[Math.min(describeCount, state.taskSnapshots.length - 1)];
        describeCount++;
        return jsonResponse({
          tasks: [
            {
              taskArn,
              clusterArn: body.cluster,
              createdAt,
              lastStatus: snapshot.lastStatus,
              desiredStatus: snapshot.desiredStatus ?? (snapshot.lastStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING'),
              stopCode: snapshot.stopCode,
              stoppedReason: snapshot.stoppedReason,
              containers: (snapshot.containers ?? []).map((container) => ({ ...container, taskArn })),
            },
          ],
          failures: [],
        });
      }
      case 'StopTask':
        return jsonResponse({
          task: { taskArn: body.task, lastStatus: 'RUNNING', desiredStatus: 'STOPPED', stoppedReason: body.reason },
        });
      case 'DescribeServices': {
        const requested = Array.isArray(body.services) ? (body.services as string[]) : [];
        const found = requested.filter((name) => services.has(name));
        return jsonResponse({
          services: found.map((name) => serviceResponse(String(body.cluster), name, services.get(name)!)),
          failures: requested.filter((name) => !services.has(name)).map((arn) => ({ arn, reason: 'MISSING' })),
        });
      }
      case 'UpdateService': {
        const name = String(body.service);
        const service = services.get(name);
        if (service === undefined) return errorResponse('ServiceNotFoundException', 'Service not found.');
        if (typeof body.desiredCount === 'number') service.desiredCount = body.desiredCount;
        return jsonResponse({ service: serviceResponse(String(body.cluster), name, service) });
      }
      default:
        return errorResponse('UnknownOperationException', `operation ${operation} is not served by this stand-in`);
    }
  });

  const server = await startLocalServer(app);
  return {
    ...server,
    calls,
    taskArn,
    services,
    get runTaskFailures() {
      return state.runTaskFailures;
    },
    set runTaskFailures(value) {
      state.runTaskFailures = value;
    },
    get taskSnapshots() {
      return state.taskSnapshots;
    },
    set taskSnapshots(value) {
      state.taskSnapshots = value;
      describeCount = 0;
    },
    callsTo: (operation) => calls.filter((call) => call.operation === operation),
  };
}
