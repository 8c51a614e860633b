/**
 * Writes one `## Section` of docs/benchmarks.md in place, leaving every other section as it
 * is (several benchmarks, owned by different people, share the file).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCHMARKS_MD = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));

/** Replaces the body of `## title` (up to the next `## ` heading), or appends the section. */
export function writeSection(title: string, body: string, path = BENCHMARKS_MD): void {
  const heading = `## ${title}`;
  const section = `${heading}\n\n${body.trim()}\n`;
  // Read right before writing: another benchmark may have written its section meanwhile.
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) {
    writeFileSync(path, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n').trimEnd();
  const after = lines.slice(end).join('\n').trim();
  writeFileSync(path, `${before}\n\n${section}${after ? `\n${after}\n` : ''}`);
}
