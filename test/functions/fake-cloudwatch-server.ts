/**
 * Stand-in for the CloudWatch API on 127.0.0.1 for GetMetricData, in the wire protocol the pinned SDK
 * (@aws-sdk/client-cloudwatch 3.1164.0) speaks: awsJson1_0, `POST /` with
 * `x-amz-target: GraniteServiceVersion20100801.GetMetricData`, timestamps as epoch seconds, errors as
 * `{"__type", "message"}` with status 400. Data points are the tests' to set per function name.
 */
import { Hono } from 'hono';
import { startLocalServer, type LocalServer } from './local-server';

const TARGET = 'GraniteServiceVersion20100801.GetMetricData';

export interface RecordedMetricQuery {
  readonly body: Record<string, unknown>;
}

export interface FakeCloudWatch extends LocalServer {
  readonly calls: RecordedMetricQuery[];
  /** Values returned for `AWS/Lambda Invocations` with `FunctionName` = key (one per minute, newest first). */
  readonly invocations: Map<string, number[]>;
  /** When set, GetMetricData answers with this error type. */
  failWith: string | undefined;
}

interface MetricDataQuery {
  Id: string;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name: string; Value: string }> };
    Period?: number;
    Stat?: string;
  };
}

export async function startFakeCloudWatch(): Promise<FakeCloudWatch> {
  const calls: RecordedMetricQuery[] = [];
  const invocations = new Map<string, number[]>();
  const state = { failWith: undefined as string | undefined };
  const app = new Hono();
  app.post('/', async (c) => {
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/x-amz-json-1.0' } });
    if (!(c.req.header('authorization') ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return json(400, { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
    }
    if (c.req.header('x-amz-target') !== TARGET || c.req.header('content-type') !== 'application/x-amz-json-1.0') {
      return json(400, { __type: 'UnknownOperationException', message: `unexpected ${c.req.header('x-amz-target')}` });
    }
    const body = (await c.req.json()) as Record<string, unknown>;
    calls.push({ body });
    if (state.failWith !== undefined) return json(400, { __type: state.failWith, message: 'stand-in failure' });
    const start = body.StartTime;
    const end = body.EndTime;
    if (typeof start !== 'number' || typeof end !== 'number' || end <= start) {
      return json(400, { __type: 'InvalidParameterValueException', message: 'StartTime must be before EndTime' });
    }
    const queries = (body.MetricDataQueries ?? []) as MetricDataQuery[];
    const results = queries.map((query) => {
      const metric = query.MetricStat?.Metric;
      const functionName = metric?.Dimensions?.find((dimension) => dimension.Name === 'FunctionName')?.Value;
      const values =
        metric?.Namespace === 'AWS/Lambda' && metric.MetricName === 'Invocations' && functionName !== undefined
          ? (invocations.get(functionName) ?? [])
          : [];
      return {
        Id: query.Id,
        Label: metric?.MetricName ?? query.Id,
        Timestamps: values.map((_, index) => Math.floor(end / 60) * 60 - index * 60),
        Values: values,
        StatusCode: 'Complete',
      };
    });
    return json(200, { MetricDataResults: results, Messages: [] });
  });
  const server = await startLocalServer(app);
  return {
    ...server,
    calls,
    invocations,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
  };
}
