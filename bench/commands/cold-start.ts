import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import {
  FunctionConfiguration,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  AWS_OPTIONS,
  BenchIo,
  COMMON_OPTIONS,
  Deadline,
  intOption,
  parseCommandArgs,
  requireString,
  secondsOption,
  sleep,
  stringOption,
  urlOption,
} from '../lib/context';
import { BenchError, callAws, describeNetworkError, errorCode } from '../lib/errors';
import { isServed, timedRequest } from '../lib/http';
import { BenchResult, buildResult, countError, Sample } from '../lib/result';

/** The env var whose new value forces fresh execution environments; nothing reads it. */
export const NONCE_VARIABLE = 'DIFY_EDGE_BENCH_NONCE';

export const COLD_START_USAGE = `cold-start --url <site URL + path> --function <name> [--samples N] [--warm N]
           [--endpoint-url URL] [--region R] [--request-timeout S] [--time-limit S] [--poll-ms MS] [--out file.json]
  Forces a cold start N times (changes env var ${NONCE_VARIABLE}, keeping every other variable),
  then times the first request (cold) and --warm requests after it.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...AWS_OPTIONS,
  url: { type: 'string' },
  function: { type: 'string' },
  samples: { type: 'string' },
  warm: { type: 'string' },
  'request-timeout': { type: 'string' },
} as const;

export async function runColdStart(argv: string[], io: BenchIo): Promise<BenchResult> {
  const command = 'cold-start';
  const { values } = parseCommandArgs(command, argv, OPTIONS);
  const url = urlOption(command, 'url', requireString(command, values, 'url'));
  const functionName = requireString(command, values, 'function');
  const samples = intOption(command, values, 'samples', 5, 1, 1000);
  const warmCount = intOption(command, values, 'warm', 5, 0, 1000);
  const pollMs = intOption(command, values, 'poll-ms', 2000, 10, 60_000);
  // Dify's api needs 20-30 s on a cold start and CloudFront gives up after 60 s: wait a little longer than that.
  const requestTimeoutMs = secondsOption(command, values, 'request-timeout', 90);
  const deadline = new Deadline(secondsOption(command, values, 'time-limit', 1800));
  const endpoint = stringOption(values, 'endpoint-url');
  if (endpoint !== undefined) urlOption(command, 'endpoint-url', endpoint);
  const progress = (text: string): void => io.stderr(`[cold-start] ${text}\n`);

  const lambda = new LambdaClient({
    endpoint,
    region: stringOption(values, 'region') ?? io.aws?.region,
    credentials: io.aws?.credentials,
  });
  const getConfiguration = (): Promise<FunctionConfiguration> =>
    callAws('lambda:GetFunctionConfiguration', functionName, endpoint, () =>
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName })),
    );

  const waitForUpdate = async (): Promise<FunctionConfiguration> => {
    for (;;) {
      const configuration = await getConfiguration();
      if (configuration.LastUpdateStatus === 'Failed') {
        throw new BenchError(
          `function ${functionName} update failed: ${configuration.LastUpdateStatusReason ?? 'no reason given'}`,
        );
      }
      const settled = configuration.LastUpdateStatus === undefined || configuration.LastUpdateStatus === 'Successful';
      if (settled && (configuration.State === undefined || configuration.State === 'Active')) return configuration;
      if (deadline.expired)
        throw new BenchError(`function ${functionName} still updating when the ${deadline.description}`);
      await sleep(pollMs);
    }
  };

  const agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = { 'cold ttfb': [], 'cold total': [], 'warm ttfb': [], 'warm total': [] };
  const errors: Record<string, number> = {};
  const recorded: Sample[] = [];
  let stoppedEarly: string | undefined;

  const measure = async (sample: number, phase: 'cold' | 'warm', index: number): Promise<void> => {
    try {
      const response = await timedRequest(url, { timeoutMs: requestTimeoutMs, agent });
      recorded.push({
        sample,
        phase,
        index,
        status: response.status,
        ttfbMs: response.ttfbMs,
        totalMs: response.totalMs,
      });
      if (isServed(response.status)) {
        phases[`${phase} ttfb`].push(response.ttfbMs);
        phases[`${phase} total`].push(response.totalMs);
      } else {
        countError(errors, `HTTP ${response.status}`);
      }
    } catch (error) {
      const code = errorCode(error) ?? 'ERROR';
      recorded.push({ sample, phase, index, status: null, error: code, ttfbMs: null, totalMs: null });
      countError(errors, code);
      progress(`${phase} request failed: ${describeNetworkError(url.href, error)}`);
    }
  };

  try {
    progress(`checking function ${functionName}`);
    await waitForUpdate();
    // One probe before touching the function: an unreachable site should fail before any configuration change.
    try {
      await timedRequest(url, { timeoutMs: requestTimeoutMs, agent });
    } catch (error) {
      throw new BenchError(describeNetworkError(url.href, error));
    }

    for (let sample = 1; sample <= samples; sample += 1) {
      if (deadline.expired) {
        stoppedEarly = deadline.description;
        break;
      }
      const current = await waitForUpdate();
      if (current.Environment?.Error) {
        // Without the current values an update would replace them all: refuse rather than wipe the function's config.
        throw new BenchError(
          `cannot read the environment of ${functionName} (${current.Environment.Error.ErrorCode ?? 'error'}: ` +
            `${current.Environment.Error.Message ?? ''}); refusing to update it, that would drop its variables`,
        );
      }
      const variables = { ...(current.Environment?.Variables ?? {}), [NONCE_VARIABLE]: randomUUID() };
      progress(`sample ${sample}/${samples}: updating ${NONCE_VARIABLE} to force a cold start`);
      await callAws('lambda:UpdateFunctionConfiguration', functionName, endpoint, () =>
        lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: functionName,
            Environment: { Variables: variables },
            // Fails instead of overwriting if someone changed the function between our read and this write.
            RevisionId: current.RevisionId,
          }),
        ),
      );
      await waitForUpdate();
      await measure(sample, 'cold', 0);
      for (let index = 1; index <= warmCount && !deadline.expired; index += 1) await measure(sample, 'warm', index);
      const cold = recorded.find((entry) => entry.sample === sample && entry.phase === 'cold');
      progress(
        `sample ${sample}/${samples}: cold ttfb ${formatNumber(cold?.ttfbMs)} ms, total ${formatNumber(cold?.totalMs)} ms`,
      );
    }
  } finally {
    agent.destroy();
    lambda.destroy();
  }
  if (stoppedEarly) progress(`stopped early: ${stoppedEarly}`);

  return buildResult({
    kind: 'cold-start',
    label: stringOption(values, 'label') ?? `cold-start ${functionName}`,
    target: url.href,
    startedAt,
    settings: { function: functionName, samples, warm: warmCount, requestTimeoutMs },
    phases,
    errors,
    samples: recorded,
    stoppedEarly,
    notes: [
      `${NONCE_VARIABLE} was left on ${functionName}; the next deploy removes it.`,
      'The update changes $LATEST: a URL bound to an alias or published version (SnapStart) is not made cold by it.',
    ],
  });
}

function formatNumber(value: unknown): string {
  return typeof value === 'number' ? String(Math.round(value)) : '—';
}
