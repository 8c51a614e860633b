/**
 * Entry point of `videochat`: parses the command line, runs one command, and maps typed
 * errors to the documented exit statuses. Only bin/videochat.js calls process.exit.
 */
import { CommanderError } from 'commander';
import { buildProgram, oneLineUsageError, type CommandContext, type CommandResult, type RawOptions } from './program.js';
import { FatalError } from '../codec/errors.js';

type CommandModule = { run: (args: string[], options: RawOptions, ctx: CommandContext) => CommandResult };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  connect: () => import('./commands/connect.js'),
  play: () => import('./commands/play.js'),
  demo: () => import('./commands/demo.js'),
  doctor: () => import('./commands/doctor.js'),
  devices: () => import('./commands/devices.js'),
  completion: () => import('./commands/completion.js'),
};

/** Prints a fatal error as one line (a stack only when VIDEOCHAT_DEBUG is set). */
export function reportError(err: unknown, stderr: NodeJS.WritableStream, env: NodeJS.ProcessEnv): number {
  if (err instanceof FatalError) {
    stderr.write(`videochat: ${err.message}\n`);
    if (env.VIDEOCHAT_DEBUG && err.stack) stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  stderr.write(`videochat: internal error: ${e?.message ?? String(err)}\n`);
  if (env.VIDEOCHAT_DEBUG && e?.stack) stderr.write(`${e.stack}\n`);
  return 1;
}

/** Runs `videochat` with `argv` (without node and script) and resolves to the exit status. */
export async function main(argv: string[], ctx: CommandContext = {
  stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env,
}): Promise<number> {
  let result: CommandResult | undefined;
  const program = buildProgram(
    async (name, args, options) => {
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
    return reportError(err, ctx.stderr, ctx.env);
  }
}
