/**
 * Entry point of `videochat`: parses the command line, runs one command, and maps typed
 * errors to the documented exit statuses. Only bin/videochat.js calls process.exit.
 */
import { CommanderError } from 'commander';
import { buildProgram, oneLineUsageError, type CommandContext, type CommandResult, type RawOptions } from './program.js';
import { endReasonOf, exitStatusOf } from './exit-codes.js';
import { LOG_LEVELS, parseChoice } from './options.js';

type CommandModule = { run: (args: string[], options: RawOptions, ctx: CommandContext) => CommandResult };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  connect: () => import('./commands/connect.js'),
  play: () => import('./commands/play.js'),
  demo: () => import('./commands/demo.js'),
  doctor: () => import('./commands/doctor.js'),
  devices: () => import('./commands/devices.js'),
  completion: () => import('./commands/completion.js'),
};

/** Prints a fatal error as one line (and its stack at --log-level debug) and gives its exit status. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream, debug: boolean): number {
  const e = err as Error | undefined;
  const known = endReasonOf(err) !== undefined;
  stderr.write(`videochat: ${known ? '' : 'internal error: '}${e?.message ?? String(err)}\n`);
  if (debug && e?.stack) stderr.write(`${e.stack}\n`);
  return exitStatusOf(err);
}

/**
 * Debug output was asked for in the environment: `VIDEOCHAT_LOG_LEVEL=debug` (read here too,
 * for errors before the options are merged), or `VIDEOCHAT_DEBUG` set (its older spelling).
 */
export function debugInEnv(env: NodeJS.ProcessEnv): boolean {
  return env.VIDEOCHAT_LOG_LEVEL?.trim() === 'debug' || !!env.VIDEOCHAT_DEBUG;
}

/** Runs `videochat` with `argv` (without node and script) and resolves to the exit status. */
export async function main(argv: string[], ctx: CommandContext = {
  stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env,
}): Promise<number> {
  let result: CommandResult | undefined;
  let debug = debugInEnv(ctx.env);
  const program = buildProgram(
    async (name, args, options) => {
      const level = parseChoice(typeof options.logLevel === 'string' ? options.logLevel : 'info', LOG_LEVELS, '--log-level');
      debug ||= level === 'debug';
      const load = COMMANDS[name];
      if (!load) throw new Error(`no such command: ${name}`);
      const mod = await load();
      return mod.run(args, options, ctx);
    },
    (p) => { result = p; },
    ctx.env,
    (line) => ctx.stderr.write(`videochat: ${line}\n`),
  );
  for (const cmd of [program, ...program.commands]) {
    const name = cmd === program ? '' : cmd.name();
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(oneLineUsageError(s, name)),
    });
  }
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    if (!result) return 0;
    return await result;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    return reportError(err, ctx.stderr, debug);
  }
}
