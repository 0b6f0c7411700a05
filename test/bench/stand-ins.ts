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

/** A published version as the stand-in keeps it: the variables it was published with, and when it turns Active. */
export interface StandInVersion {
  variables: Record<string, string>;
  codeSha256: string;
  publishedAt: number;
  /** Lambda reports a new version Pending at first; the stand-in does so once, then until this many ms passed. */
  pendingMs: number;
  pendingGetsLeft: number;
}

export interface StandInAlias {
  version: string;
  revision: number;
  /** RoutingConfig.AdditionalVersionWeights, when the alias splits traffic. */
  weights?: Record<string, number>;
}

export interface LambdaStandInOptions {
  /** Aliases the function starts with, name → version; version "1" is published from the initial variables. */
  aliases?: Record<string, string>;
  /** The qualifier (alias name) that has the function URL; none when unset. */
  functionUrlQualifier?: string;
  /** Called whenever UpdateAlias points an alias at a different version. */
  onAliasChange?: (alias: string, version: string) => void;
}

/**
 * Lambda REST JSON stand-in for the calls cold-start makes: Get/UpdateFunctionConfiguration ($LATEST reports
 * "InProgress" once after an update, like the real one), PublishVersion, Get/List/UpdateAlias,
 * GetProvisionedConcurrencyConfig and ListFunctionUrlConfigs, with revision checks where Lambda has them.
 */
export interface LambdaStandIn extends LocalServer {
  variables: Record<string, string>;
  updates: Array<Record<string, unknown>>;
  getCount: number;
  /** IAM actions ("lambda:UpdateAlias") answered with AccessDeniedException. */
  denied: Set<string>;
  versions: Record<string, StandInVersion>;
  aliases: Record<string, StandInAlias>;
  /** Provisioned concurrency per qualifier. */
  provisioned: Record<string, number>;
  publishRequests: Array<Record<string, unknown>>;
  /** Every UpdateAlias that was accepted, with the target version's state at that moment. */
  aliasUpdates: Array<{ alias: string; version: string; versionState: string }>;
  /** Extra ms a newly published version stays Pending, by version number. */
  versionPendingMs: (version: number) => number;
}

const CODE_SHA256 = 'k7Ybp1f9z0mQxS1n3o0w8E6mVJ4e0yZr9mQeJx0Xh2c=';

function lambdaError(response: http.ServerResponse, status: number, type: string, message: string) {
  sendJson(response, status, { Type: 'User', Message: message }, { 'x-amzn-errortype': type });
}

export async function startLambdaStandIn(
  functionName: string,
  variables: Record<string, string>,
  onUpdate: () => void,
  options: LambdaStandInOptions = {},
): Promise<LambdaStandIn> {
  let revision = 1;
  let inProgressGets = 0;
  let nextVersion = 1;
  const functionArn = `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`;
  const state = {
    variables: { ...variables },
    updates: [] as Array<Record<string, unknown>>,
    getCount: 0,
    denied: new Set<string>(),
    versions: {} as Record<string, StandInVersion>,
    aliases: {} as Record<string, StandInAlias>,
    provisioned: {} as Record<string, number>,
    publishRequests: [] as Array<Record<string, unknown>>,
    aliasUpdates: [] as Array<{ alias: string; version: string; versionState: string }>,
    versionPendingMs: (() => 0) as (version: number) => number,
  };
  const publish = (pendingMs: number, pendingGets: number): string => {
    const version = String(nextVersion);
    nextVersion += 1;
    state.versions[version] = {
      variables: { ...state.variables },
      codeSha256: CODE_SHA256,
      publishedAt: Date.now(),
      pendingMs,
      pendingGetsLeft: pendingGets,
    };
    return version;
  };
  if (options.aliases) {
    const first = publish(0, 0);
    for (const [name, version] of Object.entries(options.aliases)) {
      state.aliases[name] = { version: state.versions[version] ? version : first, revision: 1 };
    }
  }
  const versionState = (version: StandInVersion, consume: boolean): string => {
    if (version.pendingGetsLeft > 0) {
      if (consume) version.pendingGetsLeft -= 1;
      return 'Pending';
    }
    return Date.now() - version.publishedAt < version.pendingMs ? 'Pending' : 'Active';
  };
  const latestConfiguration = () => ({
    FunctionName: functionName,
    FunctionArn: functionArn,
    Version: '$LATEST',
    State: 'Active',
    LastUpdateStatus: inProgressGets > 0 ? 'InProgress' : 'Successful',
    RevisionId: `rev-${revision}`,
    CodeSha256: CODE_SHA256,
    MemorySize: 3008,
    Environment: { Variables: state.variables },
  });
  const versionConfiguration = (number: string, consume: boolean) => {
    const version = state.versions[number];
    return {
      FunctionName: functionName,
      FunctionArn: `${functionArn}:${number}`,
      Version: number,
      State: versionState(version, consume),
      LastUpdateStatus: 'Successful',
      RevisionId: `rev-v${number}`,
      CodeSha256: version.codeSha256,
      MemorySize: 3008,
      Environment: { Variables: version.variables },
    };
  };
  const aliasConfiguration = (name: string) => {
    const alias = state.aliases[name];
    return {
      AliasArn: `${functionArn}:${name}`,
      Name: name,
      FunctionVersion: alias.version,
      Description: '',
      RevisionId: `alias-rev-${alias.revision}`,
      ...(alias.weights ? { RoutingConfig: { AdditionalVersionWeights: alias.weights } } : {}),
    };
  };
  const routes: Array<{ method: string; path: RegExp; action: string }> = [
    { method: 'GET', path: /^\/2015-03-31\/functions\/([^/]+)\/configuration$/, action: 'GetFunctionConfiguration' },
    { method: 'PUT', path: /^\/2015-03-31\/functions\/([^/]+)\/configuration$/, action: 'UpdateFunctionConfiguration' },
    { method: 'POST', path: /^\/2015-03-31\/functions\/([^/]+)\/versions$/, action: 'PublishVersion' },
    { method: 'GET', path: /^\/2015-03-31\/functions\/([^/]+)\/aliases$/, action: 'ListAliases' },
    { method: 'GET', path: /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/, action: 'GetAlias' },
    { method: 'PUT', path: /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/, action: 'UpdateAlias' },
    {
      method: 'GET',
      path: /^\/2019-09-30\/functions\/([^/]+)\/provisioned-concurrency$/,
      action: 'GetProvisionedConcurrencyConfig',
    },
    { method: 'GET', path: /^\/2021-10-31\/functions\/([^/]+)\/urls$/, action: 'ListFunctionUrlConfigs' },
  ];
  const server = http.createServer(async (request, response) => {
    const requestUrl = new URL(request.url ?? '/', 'http://stand-in');
    const body = await readBody(request);
    let route: (typeof routes)[number] | undefined;
    let params: RegExpExecArray | null = null;
    for (const candidate of routes) {
      params = candidate.method === request.method ? candidate.path.exec(requestUrl.pathname) : null;
      if (params) {
        route = candidate;
        break;
      }
    }
    if (!route || !params) return lambdaError(response, 404, 'UnknownOperationException', 'unknown operation');
    if (decodeURIComponent(params[1]) !== functionName) {
      return lambdaError(response, 404, 'ResourceNotFoundException', `Function not found: ${params[1]}`);
    }
    const action = `lambda:${route.action}`;
    if (state.denied.has(action)) {
      return lambdaError(
        response,
        403,
        'AccessDeniedException',
        `User: arn:aws:iam::123456789012:user/bench is not authorized to perform: ${action} on resource: ${functionArn}`,
      );
    }
    const input = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
    const qualifier = requestUrl.searchParams.get('Qualifier') ?? undefined;
    const aliasName = params[2] === undefined ? undefined : decodeURIComponent(params[2]);
    switch (route.action) {
      case 'GetFunctionConfiguration': {
        state.getCount += 1;
        if (qualifier === undefined || qualifier === '$LATEST') {
          const answer = latestConfiguration();
          if (inProgressGets > 0) inProgressGets -= 1;
          return sendJson(response, 200, answer);
        }
        const version = state.aliases[qualifier]?.version ?? qualifier;
        if (!state.versions[version]) {
          return lambdaError(
            response,
            404,
            'ResourceNotFoundException',
            `Function not found: ${functionArn}:${qualifier}`,
          );
        }
        return sendJson(response, 200, versionConfiguration(version, true));
      }
      case 'UpdateFunctionConfiguration': {
        const update = input as { RevisionId?: string; Environment?: { Variables?: Record<string, string> } };
        state.updates.push(update);
        if (update.RevisionId !== undefined && update.RevisionId !== `rev-${revision}`) {
          return lambdaError(response, 412, 'PreconditionFailedException', 'revision mismatch');
        }
        // Like Lambda, Environment replaces the whole variable set.
        state.variables = { ...(update.Environment?.Variables ?? {}) };
        revision += 1;
        inProgressGets = 1;
        onUpdate();
        return sendJson(response, 200, latestConfiguration());
      }
      case 'PublishVersion': {
        state.publishRequests.push(input);
        if (inProgressGets > 0) {
          return lambdaError(
            response,
            409,
            'ResourceConflictException',
            'The operation cannot be performed at this time. An update is in progress for resource: ' + functionArn,
          );
        }
        if (input.RevisionId !== undefined && input.RevisionId !== `rev-${revision}`) {
          return lambdaError(response, 412, 'PreconditionFailedException', 'revision mismatch');
        }
        if (input.CodeSha256 !== undefined && input.CodeSha256 !== CODE_SHA256) {
          return lambdaError(response, 400, 'InvalidParameterValueException', 'CodeSHA256 does not match');
        }
        const version = publish(state.versionPendingMs(nextVersion), 1);
        const answer = versionConfiguration(version, false);
        return sendJson(response, 201, answer);
      }
      case 'ListAliases':
        return sendJson(response, 200, { Aliases: Object.keys(state.aliases).map(aliasConfiguration) });
      case 'GetAlias':
        if (aliasName === undefined || !state.aliases[aliasName]) {
          return lambdaError(
            response,
            404,
            'ResourceNotFoundException',
            `Alias not found: ${functionArn}:${aliasName}`,
          );
        }
        return sendJson(response, 200, aliasConfiguration(aliasName));
      case 'UpdateAlias': {
        const alias = aliasName === undefined ? undefined : state.aliases[aliasName];
        if (aliasName === undefined || !alias) {
          return lambdaError(
            response,
            404,
            'ResourceNotFoundException',
            `Alias not found: ${functionArn}:${aliasName}`,
          );
        }
        if (input.RevisionId !== undefined && input.RevisionId !== `alias-rev-${alias.revision}`) {
          return lambdaError(response, 412, 'PreconditionFailedException', 'alias revision mismatch');
        }
        const version = typeof input.FunctionVersion === 'string' ? input.FunctionVersion : alias.version;
        if (!state.versions[version]) {
          return lambdaError(
            response,
            404,
            'ResourceNotFoundException',
            `Function not found: ${functionArn}:${version}`,
          );
        }
        state.aliasUpdates.push({
          alias: aliasName,
          version,
          versionState: versionState(state.versions[version], false),
        });
        alias.revision += 1;
        const changed = alias.version !== version;
        alias.version = version;
        if (changed) options.onAliasChange?.(aliasName, version);
        return sendJson(response, 200, aliasConfiguration(aliasName));
      }
      case 'GetProvisionedConcurrencyConfig': {
        const count = qualifier === undefined ? undefined : state.provisioned[qualifier];
        if (count === undefined) {
          return lambdaError(
            response,
            404,
            'ProvisionedConcurrencyConfigNotFoundException',
            'No Provisioned Concurrency Config found for this function',
          );
        }
        return sendJson(response, 200, {
          RequestedProvisionedConcurrentExecutions: count,
          AvailableProvisionedConcurrentExecutions: count,
          AllocatedProvisionedConcurrentExecutions: count,
          Status: 'READY',
          LastModified: '2026-11-24T00:00:00.000+0000',
        });
      }
      case 'ListFunctionUrlConfigs': {
        const urlQualifier = options.functionUrlQualifier;
        const configs = urlQualifier
          ? [
              {
                FunctionUrl: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/',
                FunctionArn: `${functionArn}:${urlQualifier}`,
                AuthType: 'AWS_IAM',
                InvokeMode: 'RESPONSE_STREAM',
                CreationTime: '2026-11-24T00:00:00.000Z',
                LastModifiedTime: '2026-11-24T00:00:00.000Z',
              },
            ]
          : [];
        return sendJson(response, 200, { FunctionUrlConfigs: configs });
      }
      default:
        return lambdaError(response, 404, 'UnknownOperationException', route.action);
    }
  });
  const local = await listen(server);
  return Object.assign(state, local);
}

/**
 * A site whose first request after `makeCold()` waits `coldDelayMs` before the first byte. With `servingVersion`
 * (the version an alias points at) it instead models Lambda environments per version: the first request to a
 * version it has not served yet is the slow one, whatever happened to $LATEST.
 */
export interface ColdTarget extends LocalServer {
  cold: boolean;
  makeCold: () => void;
  requests: number;
  coldServed: number;
  /** Versions in the order they were first served (servingVersion mode). */
  versionsServed: string[];
}

export async function startColdTarget(coldDelayMs: number, servingVersion?: () => string): Promise<ColdTarget> {
  const state = { cold: true, requests: 0, coldServed: 0, versionsServed: [] as string[] };
  const server = http.createServer(async (_request, response) => {
    state.requests += 1;
    let cold = state.cold;
    if (servingVersion) {
      const version = servingVersion();
      cold = !state.versionsServed.includes(version);
      if (cold) state.versionsServed.push(version);
    }
    if (cold) {
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

/**
 * CloudWatch Logs (awsJson1_1, target Logs_20140328.FilterLogEvents) stand-in: serves the REPORT lines `reports()`
 * returns, filtered by startTime like the real API, and records the requests.
 */
export interface LogsStandIn extends LocalServer {
  requests: { logGroupName?: string; startTime?: number; filterPattern?: string }[];
}

export async function startLogsStandIn(
  reports: () => { timestamp: number; message: string }[],
  options: { denied?: boolean } = {},
): Promise<LogsStandIn> {
  const requests: LogsStandIn['requests'] = [];
  const server = http.createServer(async (request, response) => {
    const body = JSON.parse((await readBody(request)) || '{}') as LogsStandIn['requests'][number];
    const reply = (status: number, payload: unknown, errorType?: string): void => {
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      response.end(JSON.stringify(payload));
    };
    if (request.headers['x-amz-target'] !== 'Logs_20140328.FilterLogEvents') {
      reply(400, { __type: 'UnknownOperationException', message: 'not stood in' }, 'UnknownOperationException');
      return;
    }
    requests.push(body);
    if (options.denied) {
      reply(
        400,
        { __type: 'AccessDeniedException', message: 'not authorized to logs:FilterLogEvents' },
        'AccessDeniedException',
      );
      return;
    }
    const events = reports()
      .filter((event) => event.timestamp >= (body.startTime ?? 0))
      .map((event, index) => ({
        ...event,
        eventId: String(index),
        logStreamName: '2026/12/02/[1]abc',
        ingestionTime: event.timestamp,
      }));
    reply(200, { events, searchedLogStreams: [] });
  });
  const local = await listen(server);
  return Object.assign({ requests }, local);
}
