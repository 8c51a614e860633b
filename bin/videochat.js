#!/usr/bin/env node
// videochat: video calls in the terminal. The code lives in dist/ (built by `npm ci`).
import { main } from '../dist/cli/main.js';

const code = await main(process.argv.slice(2));
// Let stdout drain before exiting so piped NDJSON is never cut short.
process.stdout.write('', () => process.exit(code));
