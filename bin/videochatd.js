#!/usr/bin/env node
// videochatd: the relay daemon. Maps typed errors to the exit statuses of docs/contract.md
// (2 usage, 3 cannot bind) and prints one line, never a stack trace unless debugging.
import { main } from '../dist/daemon/main.js';

const debug = process.argv.includes('debug') || process.env.VIDEOCHATD_DEBUG === '1';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    const exitCode = typeof err?.exitCode === 'number' ? err.exitCode : 1;
    process.stderr.write(`videochatd: ${err?.message ?? String(err)}\n`);
    if (debug && err?.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(exitCode);
  },
);
