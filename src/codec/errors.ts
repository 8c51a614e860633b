/**
 * Typed errors with stable codes. Every error a user may see carries a `code`
 * (`E_SOMETHING`) that scripts and logs can rely on; the entry points (bin/) map
 * them to exit codes and print one line, never a stack trace unless debugging.
 */
export class VideochatError extends Error {
  /** Stable machine-readable code, e.g. `E_FRAME_TOO_LARGE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VideochatError';
    this.code = code;
  }
}

/**
 * An error that ends the program with a documented exit status. Only entry points
 * call `process.exit`; everything else throws one of these.
 */
export class FatalError extends VideochatError {
  readonly exitCode: number;
  /** `ended.reason` for the client, or a short reason word for the daemon. */
  readonly reason: string;

  constructor(code: string, message: string, exitCode: number, reason: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'FatalError';
    this.exitCode = exitCode;
    this.reason = reason;
  }
}

/** Bad options or arguments: exit 2 in both programs. */
export class UsageError extends FatalError {
  constructor(message: string) {
    super('E_USAGE', message, 2, 'usage');
    this.name = 'UsageError';
  }
}
