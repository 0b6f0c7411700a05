import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import {
  AliasConfiguration,
  FunctionConfiguration,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  GetProvisionedConcurrencyConfigCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionUrlConfigsCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
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
import { BenchError, BenchUsageError, callAws, describeNetworkError, errorCode } from '../lib/errors';
import { isServed, timedRequest } from '../lib/http';
import { BenchResult, buildResult, countError, Sample } from '../lib/result';

/** The env var whose new value forces fresh execution environments; nothing reads it. */
export const NONCE_VARIABLE = 'DIFY_EDGE_BENCH_NONCE';

/** Lambda's alias name rule (CreateAlias `Name`): letters, digits, - and _, and not only digits (that is a version). */
const ALIAS_NAME = /^(?!\d+$)[A-Za-z0-9_-]{1,128}$/;

/** ListFunctionUrlConfigs pages at most 50 configs; a function has one URL per qualifier, so a few pages is plenty. */
const MAX_URL_PAGES = 10;

export const COLD_START_USAGE = `cold-start --url <site URL + path> --function <name> [--alias <name> [--restore-alias]]
           [--samples N] [--warm N] [--endpoint-url URL] [--region R] [--request-timeout S] [--time-limit S]
           [--poll-ms MS] [--logs-wait S] [--logs-endpoint-url URL] [--out file.json]
  Forces a cold start N times (changes env var ${NONCE_VARIABLE} on $LATEST, keeping every other variable),
  then times the first request (cold) and --warm requests after it.
  --alias: also publishes each change as a version and points the alias at it, for sites that reach the
  function through an alias's URL (this project's stacks: --alias live). The alias must have no routing weights
  and no provisioned concurrency. At the end it prints where the alias points and how to point it back;
  --restore-alias points it back to its original version itself.
  Each cold sample is matched with Lambda's REPORT log line (CloudWatch Logs FilterLogEvents on the function's log
  group, waiting up to --logs-wait seconds, default 60): 'lambda init' (Init Duration) or 'lambda restore' (Restore
  Duration, SnapStart) next to the client's timings. Without logs:FilterLogEvents the run still works, without them.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...AWS_OPTIONS,
  url: { type: 'string' },
  function: { type: 'string' },
  alias: { type: 'string' },
  'restore-alias': { type: 'boolean' },
  samples: { type: 'string' },
  warm: { type: 'string' },
  'request-timeout': { type: 'string' },
  'logs-wait': { type: 'string' },
  'logs-endpoint-url': { type: 'string' },
} as const;

/**
 * Lambda's own numbers for one invocation, from the platform's REPORT log line (Lambda DG "Using CloudWatch Logs
 * with Lambda", REPORT fields; "Monitoring Lambda SnapStart": `Restore Duration` replaces `Init Duration` for an
 * environment restored from a snapshot). `Init Duration` / `Restore Duration` appear only on an environment's first
 * invocation, so they tell a cold start's platform part from the edge and the app.
 */
export interface LambdaReport {
  requestId: string;
  timestamp: number;
  durationMs?: number;
  initDurationMs?: number;
  restoreDurationMs?: number;
}

const REPORT_FIELD = (name: string): RegExp => new RegExp(`(?:^|\\t)${name}: ([0-9.]+) ms`);

/** Parses a REPORT line (tab-separated `Name: value unit` fields); anything else gives undefined. */
export function parseReportLine(message: string, timestamp = 0): LambdaReport | undefined {
  const head = /^REPORT RequestId: (\S+)/.exec(message);
  if (!head) return undefined;
  const field = (name: string): number | undefined => {
    const match = REPORT_FIELD(name).exec(message);
    return match ? Number(match[1]) : undefined;
  };
  const report: LambdaReport = { requestId: head[1], timestamp };
  const duration = field('Duration');
  const init = field('Init Duration');
  const restore = field('Restore Duration');
  if (duration !== undefined) report.durationMs = duration;
  if (init !== undefined) report.initDurationMs = init;
  if (restore !== undefined) report.restoreDurationMs = restore;
  return report;
}

/** The overall time limit hit in the middle of a sample; the run keeps what it measured so far. */
class DeadlineReached extends BenchError {}

/** Where the alias pointed before the run and where it points now (RevisionId guards our own updates). */
interface AliasPosition {
  name: string;
  originalVersion: string;
  currentVersion: string;
  revisionId?: string;
}

export async function runColdStart(argv: string[], io: BenchIo): Promise<BenchResult> {
  const command = 'cold-start';
  const { values } = parseCommandArgs(command, argv, OPTIONS);
  const url = urlOption(command, 'url', requireString(command, values, 'url'));
  const functionName = requireString(command, values, 'function');
  const aliasName = stringOption(values, 'alias');
  if (aliasName !== undefined && !ALIAS_NAME.test(aliasName)) {
    throw new BenchUsageError(
      `${command}: --alias must be an alias name (letters, digits, - and _, not only digits), got '${aliasName}'`,
    );
  }
  const restoreAlias = values['restore-alias'] === true;
  if (restoreAlias && aliasName === undefined) throw new BenchUsageError(`${command}: --restore-alias needs --alias`);
  const samples = intOption(command, values, 'samples', 5, 1, 1000);
  const warmCount = intOption(command, values, 'warm', 5, 0, 1000);
  const pollMs = intOption(command, values, 'poll-ms', 2000, 10, 60_000);
  // Dify's api needs 20-30 s on a cold start and CloudFront gives up after 60 s: wait a little longer than that.
  const requestTimeoutMs = secondsOption(command, values, 'request-timeout', 90);
  const deadline = new Deadline(secondsOption(command, values, 'time-limit', 1800));
  const endpoint = stringOption(values, 'endpoint-url');
  if (endpoint !== undefined) urlOption(command, 'endpoint-url', endpoint);
  const progress = (text: string): void => io.stderr(`[cold-start] ${text}\n`);
  const logsWaitMs = secondsOption(command, values, 'logs-wait', 60);
  const logsEndpoint = stringOption(values, 'logs-endpoint-url');
  if (logsEndpoint !== undefined) urlOption(command, 'logs-endpoint-url', logsEndpoint);

  const lambda = new LambdaClient({
    endpoint,
    region: stringOption(values, 'region') ?? io.aws?.region,
    credentials: io.aws?.credentials,
  });
  const logs = new CloudWatchLogsClient({
    endpoint: logsEndpoint,
    region: stringOption(values, 'region') ?? io.aws?.region,
    credentials: io.aws?.credentials,
  });
  let logGroup = `/aws/lambda/${functionName}`;
  let logsUnavailable: string | undefined;
  const aliasResource = `alias ${aliasName} of ${functionName}`;
  const getConfiguration = (qualifier?: string): Promise<FunctionConfiguration> =>
    callAws(
      'lambda:GetFunctionConfiguration',
      qualifier === undefined ? functionName : `version ${qualifier} of ${functionName}`,
      endpoint,
      () => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: qualifier })),
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
        throw new DeadlineReached(`${deadline.description} while function ${functionName} was still updating`);
      await sleep(pollMs);
    }
  };

  // A new version starts Pending (longer with SnapStart, which snapshots at publish time); the alias must not move
  // to it before it is Active, or the first request would wait for that instead of a plain cold start.
  const waitForVersion = async (version: string): Promise<void> => {
    for (;;) {
      const configuration = await getConfiguration(version);
      if (configuration.State === 'Failed') {
        throw new BenchError(
          `version ${version} of ${functionName} failed to become Active: ` +
            `${configuration.StateReason ?? 'no reason given'}${aliasName ? `; alias ${aliasName} was not moved` : ''}`,
        );
      }
      if (configuration.State === undefined || configuration.State === 'Active') return;
      if (deadline.expired) {
        throw new DeadlineReached(
          `${deadline.description} while version ${version} of ${functionName} was still ${configuration.State}` +
            `${aliasName ? ` (alias ${aliasName} was not moved to it)` : ''}`,
        );
      }
      await sleep(pollMs);
    }
  };

  const readAlias = async (name: string): Promise<AliasPosition> => {
    const alias: AliasConfiguration = await callAws('lambda:GetAlias', aliasResource, endpoint, () =>
      lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: name })),
    );
    const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
    if (weights.length > 0) {
      const split = weights.map(([version, weight]) => `version ${version}: ${weight}`).join(', ');
      throw new BenchError(
        `${aliasResource} splits traffic between versions (RoutingConfig ${split}): a request would reach the new ` +
          `version only part of the time, so samples would mix cold and warm. Remove the weights or use another ` +
          `alias; nothing was changed`,
      );
    }
    const version = alias.FunctionVersion;
    if (version === undefined || version === '$LATEST') {
      throw new BenchError(
        `${aliasResource} points at $LATEST, so changing $LATEST already reaches it: run without --alias; ` +
          `nothing was changed`,
      );
    }
    // Provisioned environments are initialised before traffic arrives, and moving the alias makes Lambda allocate
    // (and bill) provisioned concurrency for every new version: neither measures a cold start.
    const provisioned = await callAws('lambda:GetProvisionedConcurrencyConfig', aliasResource, endpoint, async () => {
      try {
        return await lambda.send(
          new GetProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: name }),
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'ProvisionedConcurrencyConfigNotFoundException') return undefined;
        throw error;
      }
    });
    if (provisioned !== undefined) {
      throw new BenchError(
        `${aliasResource} has provisioned concurrency (${provisioned.RequestedProvisionedConcurrentExecutions ?? '?'} ` +
          `requested, status ${provisioned.Status ?? 'unknown'}): its requests do not start cold, and each version ` +
          `the bench published would get (and bill) its own allocation. Set provisioned concurrency to 0 for the ` +
          `benchmark (config, or aws lambda delete-provisioned-concurrency-config --function-name ${functionName} ` +
          `--qualifier ${name}); nothing was changed`,
      );
    }
    return { name, originalVersion: version, currentVersion: version, revisionId: alias.RevisionId };
  };

  /** Qualifiers that have a function URL (or, without lambda:ListFunctionUrlConfigs, the function's aliases). */
  const findServingQualifiers = async (): Promise<{ source: 'url' | 'aliases'; qualifiers: string[] } | string> => {
    try {
      const qualifiers: string[] = [];
      let marker: string | undefined;
      for (let page = 0; page < MAX_URL_PAGES; page += 1) {
        const answer = await lambda.send(
          new ListFunctionUrlConfigsCommand({ FunctionName: functionName, Marker: marker }),
        );
        for (const config of answer.FunctionUrlConfigs ?? []) {
          // arn:aws:lambda:region:account:function:name[:qualifier]
          qualifiers.push(config.FunctionArn?.split(':')[7] ?? '$LATEST');
        }
        marker = answer.NextMarker;
        if (!marker) break;
      }
      return { source: 'url', qualifiers };
    } catch (urlError) {
      try {
        const answer = await lambda.send(new ListAliasesCommand({ FunctionName: functionName }));
        return { source: 'aliases', qualifiers: (answer.Aliases ?? []).flatMap((alias) => alias.Name ?? []) };
      } catch (aliasError) {
        const reason = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        return `lambda:ListFunctionUrlConfigs (${reason(urlError)}) and lambda:ListAliases (${reason(aliasError)}) failed`;
      }
    }
  };

  const warnAboutServingQualifiers = async (): Promise<void> => {
    const found = await findServingQualifiers();
    if (typeof found === 'string') {
      progress(`could not check which alias the function URL is on: ${found}`);
      return;
    }
    const aliases = found.qualifiers.filter((qualifier) => qualifier !== '$LATEST');
    if (aliasName === undefined && aliases.length > 0) {
      const suggestion = `use --alias ${aliases[0]} so each sample publishes a version and moves the alias to it`;
      progress(
        found.source === 'url'
          ? `warning: the function URL of ${functionName} is on alias ${aliases.join(', ')}, which serves a ` +
              `published version: changing $LATEST may not reach it and samples may be warm; ${suggestion}`
          : `warning: ${functionName} has alias ${aliases.join(', ')}; if the URL the site calls is on an alias, ` +
              `changing $LATEST may not reach it and samples may be warm; ${suggestion}`,
      );
    }
    if (aliasName !== undefined && found.source === 'url' && found.qualifiers.length > 0) {
      if (!found.qualifiers.includes(aliasName)) {
        progress(
          `warning: the function URL of ${functionName} is on ${found.qualifiers.join(', ')}, not on alias ` +
            `${aliasName}: moving ${aliasName} may not change what the site serves`,
        );
      }
    }
  };

  const agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = {
    'cold ttfb': [],
    'cold total': [],
    'warm ttfb': [],
    'warm total': [],
    'lambda init': [],
    'lambda restore': [],
  };
  const seenRequestIds = new Set<string>();

  /** The first REPORT with Init/Restore Duration logged in [fromMs, now], polling until it shows up or time runs out. */
  const findColdReport = async (fromMs: number): Promise<LambdaReport | undefined> => {
    if (logsUnavailable) return undefined;
    const until = Date.now() + logsWaitMs;
    for (;;) {
      try {
        const events: FilteredLogEvent[] = [];
        let nextToken: string | undefined;
        do {
          const page = await logs.send(
            new FilterLogEventsCommand({
              logGroupName: logGroup,
              startTime: fromMs - 1000,
              filterPattern: '"REPORT RequestId"',
              nextToken,
            }),
          );
          events.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        const cold = events
          .map((event) => parseReportLine(event.message ?? '', event.timestamp ?? 0))
          .filter((report): report is LambdaReport => report !== undefined && !seenRequestIds.has(report.requestId))
          .filter((report) => report.initDurationMs !== undefined || report.restoreDurationMs !== undefined)
          .sort((a, b) => a.timestamp - b.timestamp)[0];
        if (cold) {
          seenRequestIds.add(cold.requestId);
          return cold;
        }
      } catch (error) {
        logsUnavailable =
          `logs:FilterLogEvents on ${logGroup} failed (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}); ` +
          `no Lambda Init/Restore Duration in this run`;
        progress(logsUnavailable);
        return undefined;
      }
      if (Date.now() > until || deadline.expired) return undefined;
      await sleep(Math.min(pollMs, 2000));
    }
  };
  const errors: Record<string, number> = {};
  const recorded: Sample[] = [];
  const publishedVersions: string[] = [];
  const aliasNotes: string[] = [];
  let alias: AliasPosition | undefined;
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
        ...(alias ? { version: alias.currentVersion } : {}),
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

  const forceColdStart = async (sample: number): Promise<void> => {
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
    const updated = await waitForUpdate();
    if (!alias) return;
    const position = alias;
    const published = await callAws('lambda:PublishVersion', functionName, endpoint, () =>
      lambda.send(
        new PublishVersionCommand({
          FunctionName: functionName,
          // Both guard against publishing someone else's change made after our update.
          CodeSha256: updated.CodeSha256,
          RevisionId: updated.RevisionId,
          Description: `dify-edge-bench cold-start sample ${sample}`,
        }),
      ),
    );
    const version = published.Version;
    if (version === undefined || version === '$LATEST') {
      throw new BenchError(`lambda:PublishVersion on ${functionName} answered without a version number`);
    }
    publishedVersions.push(version);
    progress(`sample ${sample}/${samples}: published version ${version}, waiting until it is Active`);
    await waitForVersion(version);
    const moved = await callAws('lambda:UpdateAlias', aliasResource, endpoint, () =>
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: functionName,
          Name: position.name,
          FunctionVersion: version,
          // Fails if someone else moved the alias during the run, rather than overriding their change.
          RevisionId: position.revisionId,
        }),
      ),
    );
    position.currentVersion = moved.FunctionVersion ?? version;
    position.revisionId = moved.RevisionId;
    progress(`sample ${sample}/${samples}: alias ${position.name} now points at version ${position.currentVersion}`);
  };

  /** Says where the alias points (and how to move it back), restoring it first with --restore-alias; never throws. */
  const settleAlias = async (position: AliasPosition): Promise<void> => {
    const report = (text: string): void => {
      progress(text);
      aliasNotes.push(text);
    };
    if (position.currentVersion === position.originalVersion) {
      report(`${aliasResource} still points at version ${position.originalVersion} (unchanged).`);
      return;
    }
    let region: string | undefined;
    try {
      region = await lambda.config.region();
    } catch {
      region = undefined;
    }
    const pointBack =
      `aws lambda update-alias --function-name ${functionName} --name ${position.name} ` +
      `--function-version ${position.originalVersion}${region ? ` --region ${region}` : ''}` +
      `${endpoint ? ` --endpoint-url ${endpoint}` : ''}`;
    if (restoreAlias) {
      try {
        const restored = await callAws('lambda:UpdateAlias', aliasResource, endpoint, () =>
          lambda.send(
            new UpdateAliasCommand({
              FunctionName: functionName,
              Name: position.name,
              FunctionVersion: position.originalVersion,
              RevisionId: position.revisionId,
            }),
          ),
        );
        const from = position.currentVersion;
        position.currentVersion = restored.FunctionVersion ?? position.originalVersion;
        report(`${aliasResource} points at version ${position.currentVersion} again (restored from version ${from}).`);
        return;
      } catch (error) {
        progress(`could not restore ${aliasResource}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    report(
      `${aliasResource} now points at version ${position.currentVersion} (version ${position.originalVersion} ` +
        `before the run). To point it back: ${pointBack}`,
    );
  };

  try {
    progress(`checking function ${functionName}`);
    const initial = await waitForUpdate();
    // This project's functions log to their own group (lib/constructs/api-function.ts), named in LoggingConfig.
    logGroup = initial.LoggingConfig?.LogGroup ?? logGroup;
    if (aliasName !== undefined) alias = await readAlias(aliasName);
    await warnAboutServingQualifiers();
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
      try {
        await forceColdStart(sample);
      } catch (error) {
        // Keep what earlier samples measured; with nothing measured the run simply failed.
        if (error instanceof DeadlineReached && recorded.length > 0) {
          stoppedEarly = error.message;
          break;
        }
        throw error;
      }
      const coldFrom = Date.now();
      await measure(sample, 'cold', 0);
      for (let index = 1; index <= warmCount && !deadline.expired; index += 1) await measure(sample, 'warm', index);
      const cold = recorded.find((entry) => entry.sample === sample && entry.phase === 'cold');
      const report = await findColdReport(coldFrom);
      if (cold && report) {
        cold.lambdaRequestId = report.requestId;
        if (report.durationMs !== undefined) cold.lambdaDurationMs = report.durationMs;
        if (report.initDurationMs !== undefined) {
          cold.initDurationMs = report.initDurationMs;
          phases['lambda init'].push(report.initDurationMs);
        }
        if (report.restoreDurationMs !== undefined) {
          cold.restoreDurationMs = report.restoreDurationMs;
          phases['lambda restore'].push(report.restoreDurationMs);
        }
      } else if (cold && !logsUnavailable) {
        progress(
          `sample ${sample}/${samples}: no REPORT line with Init/Restore Duration within ${logsWaitMs / 1000} s`,
        );
      }
      const platform =
        report?.restoreDurationMs !== undefined
          ? `, Lambda restore ${formatNumber(report.restoreDurationMs)} ms`
          : report?.initDurationMs !== undefined
            ? `, Lambda init ${formatNumber(report.initDurationMs)} ms`
            : '';
      progress(
        `sample ${sample}/${samples}: cold ttfb ${formatNumber(cold?.ttfbMs)} ms, total ${formatNumber(cold?.totalMs)} ms${platform}`,
      );
    }
  } finally {
    if (alias) await settleAlias(alias);
    agent.destroy();
    lambda.destroy();
    logs.destroy();
  }
  if (stoppedEarly) progress(`stopped early: ${stoppedEarly}`);

  const notes = [
    `${NONCE_VARIABLE} was left on ${functionName} ($LATEST); the next deploy that changes it removes it.`,
    logsUnavailable ??
      `Lambda's own numbers come from REPORT lines in ${logGroup}: 'lambda init' is Init Duration (a full start), ` +
        `'lambda restore' is Restore Duration (a SnapStart restore); cold total minus them is edge, adapter and app time.`,
  ];
  if (alias) {
    notes.push(...aliasNotes);
    if (publishedVersions.length > 0) {
      notes.push(
        `Published versions ${publishedVersions.join(', ')} of ${functionName} stay until deleted ` +
          `(aws lambda delete-function --function-name ${functionName} --qualifier <version>).`,
      );
    }
  } else {
    notes.push(
      'The update changes $LATEST only: a URL bound to an alias or published version is not made cold by it (use --alias).',
    );
  }
  return buildResult({
    kind: 'cold-start',
    label: stringOption(values, 'label') ?? `cold-start ${functionName}${alias ? `:${alias.name}` : ''}`,
    target: url.href,
    startedAt,
    settings: {
      function: functionName,
      alias: alias?.name ?? null,
      aliasOriginalVersion: alias?.originalVersion ?? null,
      samples,
      warm: warmCount,
      requestTimeoutMs,
      logGroup,
    },
    phases,
    errors,
    samples: recorded,
    stoppedEarly,
    notes,
  });
}

function formatNumber(value: unknown): string {
  return typeof value === 'number' ? String(Math.round(value)) : '—';
}
