import { Command, CommanderError, Option } from 'commander';
import { applyCommands } from './commands/apply.js';
import { channelsCommand } from './commands/channels.js';
import { opsCommands } from './commands/ops.js';
import { tasksCommand } from './commands/tasks.js';
import { type Context, DEFAULT_URL, contextOf } from './context.js';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { type Io, json } from './output.js';

/** The version `vigil --version` prints: the API version it was generated against. */
export const CLI_VERSION = '0.1.0';

const EXIT_CODES_HELP = `
Environment:
  VIGIL_URL    the API (default ${DEFAULT_URL}); --url wins
  VIGIL_TOKEN  bearer token, one of the server's APP_API_TOKENS (never given on the command line)

Exit codes:
  0  done
  1  the API refused or failed the request, or an apply left changes undone
  2  bad command line or invalid monitors file (nothing was changed)
  3  the API could not be reached
  4  not found
  5  token missing or wrong (401), or its scope does not allow the change (403)
`;

/**
 * Runs the `vigil` command with `argv` (without node and the script) and returns its exit code. Everything goes
 * through `io` and `env`, so that tests run it in-process; `main.ts` passes the process's own.
 */
export async function runCli(argv: readonly string[], io: Io, env: Record<string, string | undefined>): Promise<ExitCode> {
  let jsonErrors = argv.includes('--json');
  const program = new Command('vigil')
    .description('Vigil from the command line: tasks, runs, the queue, dead letters, alert channels, and monitors kept as code.')
    .version(CLI_VERSION, '-V, --version')
    .option('--url <url>', `the Vigil API (default: VIGIL_URL, else ${DEFAULT_URL})`)
    .option('--json', 'print JSON for scripts (errors too, on stderr)')
    .addOption(new Option('--timeout <seconds>', 'seconds to wait for each answer').default('10'))
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(text),
    });
  const ctxOf = (cmd: Command): Context => {
    const ctx = contextOf(cmd, io, env);
    jsonErrors = ctx.json;
    return ctx;
  };
  tasksCommand(program, ctxOf);
  opsCommands(program, ctxOf);
  channelsCommand(program, ctxOf);
  applyCommands(program, ctxOf);
  // Exit codes are ours, not commander's: a usage error is 2 in every subcommand.
  for (const command of allCommands(program)) command.exitOverride().configureOutput(program.configureOutput());

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      report(io, err, jsonErrors);
      return err.exitCode;
    }
    io.stderr.write(`vigil: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failed;
  }
}

/** The error on stderr: a sentence and each bad field, or the same as JSON with --json. */
function report(io: Io, err: CliError, asJson: boolean): void {
  if (asJson) {
    const body = err.api === undefined ? { error: { code: codeOf(err.exitCode), message: err.message } } : { status: err.api.status, error: err.api.error };
    io.stderr.write(json(body));
    return;
  }
  io.stderr.write(`vigil: ${err.message}\n`);
  for (const [field, message] of Object.entries(err.api?.error.fields ?? {})) io.stderr.write(`  ${field}: ${message}\n`);
}

function codeOf(exitCode: ExitCode): string {
  switch (exitCode) {
    case EXIT.usage:
      return 'usage';
    case EXIT.unreachable:
      return 'unreachable';
    case EXIT.notFound:
      return 'not_found';
    case EXIT.denied:
      return 'denied';
    default:
      return 'failed';
  }
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}
