import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A started local server and how to stop it. */
export interface LocalServer {
  url: string;
  close: () => Promise<void>;
}

export function listen(server: http.Server): Promise<LocalServer> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lambda REST API stand-in: Get/UpdateFunctionConfiguration, with "InProgress" after an update like the real one. */
export interface LambdaStandIn extends LocalServer {
  variables: Record<string, string>;
  updates: Array<Record<string, unknown>>;
  getCount: number;
  denied: Set<string>;
}

export async function startLambdaStandIn(
  functionName: string,
  variables: Record<string, string>,
  onUpdate: () => void,
): Promise<LambdaStandIn> {
  let revision = 1;
  let inProgressGets = 0;
  const state = {
    variables: { ...variables },
    updates: [] as Array<Record<string, unknown>>,
    getCount: 0,
    denied: new Set<string>(),
  };
  const configuration = () => ({
    FunctionName: functionName,
    FunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    State: 'Active',
    LastUpdateStatus: inProgressGets > 0 ? 'InProgress' : 'Successful',
    RevisionId: `rev-${revision}`,
    MemorySize: 3008,
    Environment: { Variables: state.variables },
  });
  const deny = (response: http.ServerResponse, action: string) =>
    sendJson(
      response,
      403,
      { Message: `User: arn:aws:iam::123456789012:user/bench is not authorized to perform: ${action}` },
      { 'x-amzn-errortype': 'AccessDeniedException' },
    );
  const server = http.createServer(async (request, response) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/configuration$/.exec(request.url ?? '');
    const body = await readBody(request);
    if (!match)
      return sendJson(response, 404, { Message: 'unknown path' }, { 'x-amzn-errortype': 'UnknownOperationException' });
    if (decodeURIComponent(match[1]) !== functionName) {
      return sendJson(
        response,
        404,
        { Message: `Function not found: ${match[1]}` },
        { 'x-amzn-errortype': 'ResourceNotFoundException' },
      );
    }
    if (request.method === 'GET') {
      if (state.denied.has('lambda:GetFunctionConfiguration')) return deny(response, 'lambda:GetFunctionConfiguration');
      state.getCount += 1;
      const answer = configuration();
      if (inProgressGets > 0) inProgressGets -= 1;
      return sendJson(response, 200, answer);
    }
    if (request.method === 'PUT') {
      if (state.denied.has('lambda:UpdateFunctionConfiguration'))
        return deny(response, 'lambda:UpdateFunctionConfiguration');
      const update = JSON.parse(body) as { RevisionId?: string; Environment?: { Variables?: Record<string, string> } };
      state.updates.push(update);
      if (update.RevisionId !== undefined && update.RevisionId !== `rev-${revision}`) {
        return sendJson(
          response,
          412,
          { Message: 'revision mismatch' },
          { 'x-amzn-errortype': 'PreconditionFailedException' },
        );
      }
      // Like Lambda, Environment replaces the whole variable set.
      state.variables = { ...(update.Environment?.Variables ?? {}) };
      revision += 1;
      inProgressGets = 1;
      onUpdate();
      const answer = configuration();
      return sendJson(response, 200, answer);
    }
    return sendJson(response, 405, { Message: 'method' });
  });
  const local = await listen(server);
  return Object.assign(state, local);
}

/** A site whose first request after `makeCold()` waits `coldDelayMs` before the first byte. */
export interface ColdTarget extends LocalServer {
  cold: boolean;
  makeCold: () => void;
  requests: number;
  coldServed: number;
}

export async function startColdTarget(coldDelayMs: number): Promise<ColdTarget> {
  const state = { cold: true, requests: 0, coldServed: 0 };
  const server = http.createServer(async (_request, response) => {
    state.requests += 1;
    if (state.cold) {
      state.cold = false;
      state.coldServed += 1;
      await sleep(coldDelayMs);
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<html>ok</html>');
  });
  const local = await listen(server);
  return Object.assign(state, local, {
    makeCold: () => {
      state.cold = true;
    },
  });
}

/** ECS awsJson1_1 stand-in: UpdateService starts a task that runs after `startMs` and completes after `completeMs`. */
export interface EcsStandIn extends LocalServer {
  desiredCounts: number[];
  denied: Set<string>;
  targets: string[];
}

export async function startEcsStandIn(startMs: number, completeMs: number): Promise<EcsStandIn> {
  const state = { desiredCounts: [] as number[], denied: new Set<string>(), targets: [] as string[] };
  let desired = 0;
  let changedAt = Date.now();
  let runningBeforeChange = 0;
  const service = () => {
    const since = Date.now() - changedAt;
    let running: number;
    let rollout = 'COMPLETED';
    if (desired === 1) {
      running = since >= startMs ? 1 : 0;
      rollout = since >= completeMs ? 'COMPLETED' : 'IN_PROGRESS';
    } else {
      running = since >= 30 ? 0 : runningBeforeChange;
    }
    return {
      serviceName: 'backend',
      serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/bench/backend',
      status: 'ACTIVE',
      desiredCount: desired,
      runningCount: running,
      pendingCount: desired === 1 && running === 0 ? 1 : 0,
      deployments: [
        { id: 'ecs-svc/1', status: 'PRIMARY', desiredCount: desired, runningCount: running, rolloutState: rollout },
      ],
    };
  };
  const server = http.createServer(async (request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const body = JSON.parse((await readBody(request)) || '{}') as { desiredCount?: number; services?: string[] };
    state.targets.push(target);
    const operation = target.replace('AmazonEC2ContainerServiceV20141113.', '');
    const headers = { 'content-type': 'application/x-amz-json-1.1' };
    if (state.denied.has(`ecs:${operation}`)) {
      response.writeHead(400, headers);
      response.end(
        JSON.stringify({ __type: 'AccessDeniedException', message: `not authorized to perform: ecs:${operation}` }),
      );
      return;
    }
    if (operation === 'UpdateService') {
      const current = service();
      runningBeforeChange = current.runningCount;
      desired = body.desiredCount ?? desired;
      changedAt = Date.now();
      state.desiredCounts.push(desired);
      response.writeHead(200, headers);
      response.end(JSON.stringify({ service: service() }));
      return;
    }
    if (operation === 'DescribeServices') {
      response.writeHead(200, headers);
      if (body.services?.[0] !== 'backend') {
        response.end(JSON.stringify({ services: [], failures: [{ arn: body.services?.[0], reason: 'MISSING' }] }));
        return;
      }
      response.end(JSON.stringify({ services: [service()], failures: [] }));
      return;
    }
    response.writeHead(400, headers);
    response.end(JSON.stringify({ __type: 'UnknownOperationException', message: operation }));
  });
  const local = await listen(server);
  return Object.assign(state, local);
}

/** Dify-like /v1/chat-messages answering SSE: a ping, `answers` message events, message_end. */
export interface SseStandIn extends LocalServer {
  bodies: Array<Record<string, unknown>>;
  authorizations: string[];
}

export async function startSseStandIn(
  apiKey: string,
  firstEventDelayMs: number,
  answers: string[],
): Promise<SseStandIn> {
  const state = { bodies: [] as Array<Record<string, unknown>>, authorizations: [] as string[] };
  const server = http.createServer(async (request, response) => {
    const body = await readBody(request);
    state.authorizations.push(String(request.headers.authorization ?? ''));
    if (request.method !== 'POST' || request.url !== '/v1/chat-messages')
      return sendJson(response, 404, { code: 'not_found' });
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      return sendJson(response, 401, { code: 'unauthorized', message: 'Access token is invalid', status: 401 });
    }
    state.bodies.push(JSON.parse(body) as Record<string, unknown>);
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    response.flushHeaders();
    await sleep(firstEventDelayMs);
    response.write('event: ping\n\n');
    for (const answer of answers) {
      const event = JSON.stringify({ event: 'message', message_id: 'm1', conversation_id: 'c1', answer });
      // Split one event across two writes: the client must reassemble it.
      const half = Math.floor(event.length / 2);
      response.write(`data: ${event.slice(0, half)}`);
      await sleep(5);
      response.write(`${event.slice(half)}\n\n`);
    }
    response.end(`data: ${JSON.stringify({ event: 'message_end', message_id: 'm1', metadata: {} })}\n\n`);
  });
  const local = await listen(server);
  return Object.assign(state, local);
}

/** Answers the status given by the path (/status/503) or 200; for error-count tests. */
export async function startStatusServer(): Promise<LocalServer> {
  let counter = 0;
  const server = http.createServer((request, response) => {
    counter += 1;
    // Every 5th request fails with 503, every 10th with 404 (the 404 wins on multiples of 10).
    const status = counter % 10 === 0 ? 404 : counter % 5 === 0 ? 503 : 200;
    response.writeHead(status, { 'content-type': 'text/plain' });
    response.end(request.url ?? '');
  });
  return listen(server);
}

/** Captures a command's stdout/stderr; fake AWS credentials so the SDK never looks further. */
export function captureIo() {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    aws: { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, region: 'us-east-1' },
  };
  return io;
}
