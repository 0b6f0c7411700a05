import { COLD_START_USAGE, runColdStart } from './commands/cold-start';
import { COMPARE_USAGE, runCompare } from './commands/compare';
import { LATENCY_USAGE, runLatency } from './commands/latency';
import { runStream, STREAM_USAGE } from './commands/stream';
import { runUpload, UPLOAD_USAGE } from './commands/upload';
import { runWake, WAKE_USAGE } from './commands/wake';
import { BenchIo, processIo } from './lib/context';
import { BenchError, BenchUsageError } from './lib/errors';
import { BenchResult, writeResult } from './lib/result';
import { formatMs } from './lib/stats';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

type Runner = (argv: string[], io: BenchIo) => Promise<BenchResult | void>;

const COMMANDS: Record<string, { run: Runner; usage: string }> = {
  'cold-start': { run: runColdStart, usage: COLD_START_USAGE },
  latency: { run: runLatency, usage: LATENCY_USAGE },
  stream: { run: runStream, usage: STREAM_USAGE },
  wake: { run: runWake, usage: WAKE_USAGE },
  upload: { run: runUpload, usage: UPLOAD_USAGE },
  compare: { run: runCompare, usage: COMPARE_USAGE },
};

export const USAGE = `usage: npm run bench -- <command> [options]

${Object.values(COMMANDS)
  .map((command) => command.usage)
  .join('\n\n')}

Common: --out file.json (result for \`compare\`), --label text, --time-limit S (overall bound).
AWS commands use the SDK default chain (AWS_REGION, AWS_PROFILE, credentials) and honour --endpoint-url.
Exit codes: 0 ok, 1 run failed, 2 bad arguments.
`;

function summaryText(result: BenchResult): string {
  const lines = [`${result.kind} ${result.target}`];
  for (const [phase, summary] of Object.entries(result.summary)) {
    lines.push(
      `  ${phase.padEnd(13)} n=${String(summary.count).padEnd(4)} min ${formatMs(summary.min).padStart(8)}  ` +
        `median ${formatMs(summary.median).padStart(8)}  p95 ${formatMs(summary.p95).padStart(8)}  ` +
        `max ${formatMs(summary.max).padStart(8)}`,
    );
  }
  const errors = Object.entries(result.errors);
  lines.push(`  errors: ${errors.length ? errors.map(([key, count]) => `${key} ×${count}`).join(', ') : 'none'}`);
  if (result.stoppedEarly) lines.push(`  stopped early: ${result.stoppedEarly}`);
  return `${lines.join('\n')}\n`;
}

/** The --out value in either `--out file` or `--out=file` form (the runner already validated the syntax). */
function outOption(argv: string[]): string | undefined {
  for (let index = 0; index < argv.length; index += 1) {
    if (argv[index] === '--') break;
    if (argv[index] === '--out') return argv[index + 1];
    if (argv[index].startsWith('--out=')) return argv[index].slice('--out='.length);
  }
  return undefined;
}

/** Runs one bench command; returns the process exit code instead of exiting, so tests call it in-process. */
export async function main(argv: string[], io: BenchIo = processIo): Promise<number> {
  const [commandName, ...rest] = argv;
  if (commandName === undefined || commandName === '--help' || commandName === '-h' || commandName === 'help') {
    (commandName === undefined ? io.stderr : io.stdout)(USAGE);
    return commandName === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS[commandName];
  if (!command) {
    io.stderr(`error: unknown command '${commandName}' (expected one of: ${Object.keys(COMMANDS).join(', ')})\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`usage: npm run bench -- ${command.usage}\n`);
    return EXIT_OK;
  }
  const outFile = commandName === 'compare' ? undefined : outOption(rest);
  try {
    const result = await command.run(rest, io);
    if (result) {
      io.stdout(summaryText(result));
      if (outFile) {
        writeResult(outFile, result);
        io.stderr(`[${commandName}] wrote ${outFile}\n`);
      }
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof BenchUsageError) {
      io.stderr(`error: ${error.message}\nusage: npm run bench -- ${command.usage}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof BenchError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT_FAILED;
    }
    io.stderr(`error: ${commandName} failed unexpectedly: ${error instanceof Error ? error.stack : String(error)}\n`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${String(error)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}
