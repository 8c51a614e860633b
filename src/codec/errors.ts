/**
 * Typed errors with stable codes. Every error a user may see carries a `code`
 * (`E_SOMETHING`) that scripts and logs can rely on, and nothing else of its ending: each
 * program maps codes to its exit statuses in one table (src/cli/exit-codes.ts,
 * src/daemon/exit-codes.ts) and prints one line, never a stack trace unless debugging.
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
 * An error that ends the program (or a call) with a documented exit status, which the
 * program's exit-code table gives for its code. Only entry points call `process.exit`;
 * everything else throws one of these.
 */
export class FatalError extends VideochatError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'FatalError';
  }
}

/** Bad options or arguments (E_USAGE): exit 2 in both programs. */
export class UsageError extends FatalError {
  constructor(message: string) {
    super('E_USAGE', message);
    this.name = 'UsageError';
  }
}
