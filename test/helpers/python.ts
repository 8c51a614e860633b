// The Python that has numpy (Debian's python3-numpy, installed by scripts/setup.sh --test):
// /usr/bin/python3 first, because a python3 earlier on PATH (pyenv, a venv) may lack it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function find(): string {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (candidate.startsWith('/') && !existsSync(candidate)) continue;
    try {
      execFileSync(candidate, ['-c', 'import numpy'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('no python3 with numpy: install python3-numpy (scripts/setup.sh --test does)');
}

/** Path of a python3 that imports numpy; throws (failing the test) when there is none. */
export const PYTHON_WITH_NUMPY = find();
