#!/usr/bin/env node
// videochatd: the relay daemon. run() maps typed errors to the exit statuses of
// man/videochatd.8 (src/daemon/exit-codes.ts) and prints one line, the stack trace only with
// --log-level debug (or VIDEOCHATD_DEBUG=1).
import { run } from '../dist/daemon/main.js';

run(process.argv.slice(2)).then((code) => process.exit(code));
