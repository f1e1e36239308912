/**
 * A minimal Prometheus text-format registry for the server's /metrics.
 * Components keep their own plain counters; they register collectors that
 * read them when /metrics is scraped, so nothing on a hot path allocates
 * for metrics.
 */

/** One sample: a metric's value for a label set. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** A metric family as exposed: name, help, type, and its samples at scrape time. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: () => Sample[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Collects metric families and renders them in the Prometheus text exposition format (0.0.4). */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>();

  /** Adds a family; a second one under the same name replaces the first (a restarted component). */
  register(family: MetricFamily): () => void {
    this.families.set(family.name, family);
    return () => {
      if (this.families.get(family.name) === family) this.families.delete(family.name);
    };
  }

  /** The text a scrape returns. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      for (const s of f.samples()) out.push(`${f.name}${formatLabels(s.labels)} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
    }
    return out.join('\n') + '\n';
  }
}

/** The content type of render()'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
