// `tetra usage`: the usage ledger summed by key, model and day (or any of key, model, day,
// plan, status), from the server's database ($TETRA_HOME/tetra.db or --db).
import { existsSync } from 'node:fs';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { formatTable } from './keys.ts';
import { defaultDbPath, SqliteLedger, type UsageDimension, type UsageReportRow } from '../gateway/index.ts';

const DIMS: UsageDimension[] = ['key', 'model', 'day', 'plan', 'status'];
const DATE_RE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/;

export const usageCommand: Command = {
  name: 'usage',
  summary: 'report requests, tokens, cost and latency from the usage ledger, by key, model and day',
  usage: 'tetra usage [--by key,model,day] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--key ID] [--model ID] [--json]',
  flags: {
    by: { type: 'string', help: `comma-separated grouping from ${DIMS.join(', ')}; 'none' for one total`, default: 'key,model,day' },
    since: { type: 'string', help: 'first day (UTC) to include, YYYY-MM-DD' },
    until: { type: 'string', help: 'first day (UTC) to leave out, YYYY-MM-DD' },
    key: { type: 'string', help: 'only this key id (key_...)' },
    model: { type: 'string', help: 'only this model snapshot' },
    db: { type: 'string', help: 'database file (default $TETRA_HOME/tetra.db)' },
    json: { type: 'boolean', help: 'print one JSON array' },
  },
  run(flags) {
    const byText = flags.by as string;
    const by = byText === 'none' ? [] : byText.split(',').map((s) => s.trim());
    for (const d of by) {
      if (!DIMS.includes(d as UsageDimension)) throw new UsageError(`tetra usage: --by takes ${DIMS.join(', ')} or none, got '${d}'`);
    }
    for (const f of ['since', 'until'] as const) {
      const v = flags[f] as string | undefined;
      if (v !== undefined && !DATE_RE.test(v)) throw new UsageError(`tetra usage: --${f} must be a date like 2026-03-14, got '${v}'`);
    }
    const db = (flags.db as string | undefined) ?? defaultDbPath();
    if (!existsSync(db))
      throw new Error(`no ledger at ${db} (the server creates it when it answers its first request; --db names another)`);
    const ledger = new SqliteLedger(db);
    const rows = ledger.report({
      by: by as UsageDimension[],
      since: flags.since as string | undefined,
      until: flags.until as string | undefined,
      keyId: flags.key as string | undefined,
      model: flags.model as string | undefined,
    });
    ledger.close();
    if (flags.json) {
      console.log(JSON.stringify(rows));
      return 0;
    }
    if (!rows.length) {
      console.log('no requests recorded for this selection');
      return 0;
    }
    const total: UsageReportRow = {
      requests: 0,
      errors: 0,
      promptTokens: 0,
      completionTokens: 0,
      cost: 0,
      avgLatencyMs: 0,
      maxLatencyMs: 0,
    };
    for (const r of rows) {
      total.requests += r.requests;
      total.errors += r.errors;
      total.promptTokens += r.promptTokens;
      total.completionTokens += r.completionTokens;
      total.cost += r.cost;
      total.avgLatencyMs += r.avgLatencyMs * r.requests;
      total.maxLatencyMs = Math.max(total.maxLatencyMs, r.maxLatencyMs);
    }
    total.avgLatencyMs /= total.requests;
    const cells = (r: UsageReportRow, label?: string) => [
      ...by.map((d, i) =>
        label !== undefined ? (i === 0 ? label : '') : String((r as unknown as Record<string, unknown>)[d] ?? '(loopback)'),
      ),
      String(r.requests),
      String(r.errors),
      String(r.promptTokens),
      String(r.completionTokens),
      `$${r.cost.toFixed(4)}`,
      r.avgLatencyMs.toFixed(1),
      r.maxLatencyMs.toFixed(1),
    ];
    const header = [...by.map((d) => d.toUpperCase()), 'REQUESTS', 'ERRORS', 'PROMPT', 'COMPLETION', 'COST', 'AVG_MS', 'MAX_MS'];
    const body = rows.map((r) => cells(r));
    if (rows.length > 1 || !by.length) body.push(cells(total, by.length ? 'total' : undefined));
    console.log(formatTable(header, by.length ? body : [cells(total)]));
    return 0;
  },
};
