/** Command-line values of the benchmark scripts (`--name value`). */

/** A positive number given as `--name N`, or `fallback` when the flag is absent. */
export function numberArg(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} expects a positive number`);
  return n;
}

/** The value of `--name VALUE`, or undefined when the flag is absent. */
export function stringArg(name: string, argv: readonly string[] = process.argv): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}
