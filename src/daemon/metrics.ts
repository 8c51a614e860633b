/**
 * Prometheus text exposition for `--metrics-port`: a handful of counters and gauges,
 * all named `videochatd_*`. No dependency: the format is a few lines of text.
 */

type Labels = Record<string, string>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A tiny registry; gauges computed at scrape time are passed to render() by the owner. */
export class Metrics {
  private readonly series = new Map<string, Series>();

  define(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!this.series.has(name)) this.series.set(name, { help, type, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const s = this.series.get(name);
    if (!s) throw new Error(`metric ${name} not defined`);
    const key = labelKey(labels);
    const cur = s.values.get(key);
    if (cur) cur.value += by;
    else s.values.set(key, { labels, value: by });
  }

  set(name: string, labels: Labels, value: number): void {
    const s = this.series.get(name);
    if (!s) throw new Error(`metric ${name} not defined`);
    s.values.set(labelKey(labels), { labels, value });
  }

  get(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Prometheus text format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      for (const { labels, value } of s.values.values()) {
        const keys = Object.keys(labels);
        const l = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',')}}`;
        lines.push(`${name}${l} ${value}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
