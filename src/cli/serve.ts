// `tetra serve`: the OpenAI-compatible API over a checkpoint, a GGUF, an upstream server, or a
// full catalog config. Prints `listening on http://HOST:PORT` on stdout once it accepts requests.
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LlamaCppEngine, openBuiltinEngine, UpstreamEngine, type ChatEngine } from '../engine/index.ts';
import {
  Catalog,
  CatalogError,
  createGateway,
  isLoopback,
  loadCatalogFile,
  parseCatalog,
  type CatalogConfig,
  type EngineSpec,
  type ModerationService,
} from '../gateway/index.ts';
import { checkpointInfo, DEFAULT_ALIAS, readRelease } from '../model/index.ts';
import { ModerationClassifier } from '../safety/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { numberFlag, UsageError } from './args.ts';
import { openGovernance } from '../gateway/index.ts';
import { AppStore, mountChatApp } from '../app/index.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';

const cmd = 'tetra serve';

/** Engine kinds this build can start, by the catalog's "kind"; each reads its own fields of the engine's spec. */
export const engineOpeners: Record<string, (spec: EngineSpec) => Promise<ChatEngine>> = {
  builtin: (spec) => {
    if (typeof spec.checkpoint !== 'string') throw new UsageError(`${cmd}: a builtin engine needs "checkpoint": DIR`);
    return openBuiltinEngine(resolveCheckpoint(spec.checkpoint));
  },
  llamacpp: (spec) => {
    if (typeof spec.gguf !== 'string') throw new UsageError(`${cmd}: a llamacpp engine needs "gguf": FILE`);
    return LlamaCppEngine.open({
      modelPath: spec.gguf,
      ...(typeof spec.threads === 'number' ? { threads: spec.threads } : {}),
      ...(typeof spec.context_size === 'number' ? { contextSize: spec.context_size } : {}),
      ...(typeof spec.concurrency === 'number' ? { concurrency: spec.concurrency } : {}),
    });
  },
  upstream: async (spec) => {
    if (typeof spec.url !== 'string')
      throw new UsageError(`${cmd}: an upstream engine needs "url": BASE_URL (e.g. http://localhost:8000/v1)`);
    const ms = (field: string): number | undefined => {
      const v = spec[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3_600_000) {
        throw new UsageError(
          `${cmd}: an upstream engine's "${field}" must be an integer number of milliseconds in [1, 3600000], got ${JSON.stringify(v)}`,
        );
      }
      return v;
    };
    const timeouts = {
      connectTimeoutMs: ms('connect_timeout_ms'),
      firstByteTimeoutMs: ms('first_byte_timeout_ms'),
      idleTimeoutMs: ms('idle_timeout_ms'),
    };
    return new UpstreamEngine({
      ...Object.fromEntries(Object.entries(timeouts).filter(([, v]) => v !== undefined)),
      baseURL: spec.url,
      model: typeof spec.model === 'string' ? spec.model : 'default',
      ...(typeof spec.key === 'string' ? { apiKey: spec.key } : {}),
      ...(typeof spec.context_window === 'number' ? { contextWindow: spec.context_window } : {}),
      ...(typeof spec.image_input === 'boolean' ? { imageInput: spec.image_input } : {}),
      ...(typeof spec.concurrency === 'number' ? { concurrency: spec.concurrency } : {}),
      ...(spec.client === 'openai' || spec.client === 'http' ? { client: spec.client } : {}),
    });
  },
};

function today(path: string): string {
  try {
    return statSync(path).mtime.toISOString().slice(0, 10);
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

/**
 * The catalog for --checkpoint / --gguf / --upstream: one snapshot and a moving alias (upstream:
 * its own name). --checkpoint may list several checkpoints, comma-separated: each is served as its
 * own pinned snapshot, and each family's alias (release.json's "alias", `tetra` when it names
 * none) moves to the family's last (`tetra start` lists the releases oldest first, so a user
 * pinned to an older snapshot keeps it). `tetra` is the default model when it is served.
 */
function singleEngineCatalog(f: Record<string, unknown>): CatalogConfig {
  if (f.checkpoint) {
    const dirs = String(f.checkpoint)
      .split(',')
      .map((c) => resolveCheckpoint(c));
    // A release (tetra export release) names its pinned snapshot; any other checkpoint is named by its date.
    const named = dirs.map((dir) => {
      let info: ReturnType<typeof readRelease>;
      try {
        info = readRelease(dir);
      } catch (e) {
        throw new UsageError(`${cmd}: ${(e as Error).message}`);
      }
      return info ?? { snapshot: `tetra-${today(join(dir, 'checkpoint.json'))}`, alias: DEFAULT_ALIAS };
    });
    const snaps = named.map((n) => n.snapshot);
    const twice = snaps.find((s, i) => snaps.indexOf(s) !== i);
    if (twice) throw new UsageError(`${cmd}: --checkpoint names the snapshot ${twice} twice`);
    const clash = named.find((n) => snaps.includes(n.alias));
    if (clash) throw new UsageError(`${cmd}: the alias ${clash.alias} is also a snapshot's name`);
    const aliases = new Map(named.map((n) => [n.alias, n.snapshot])); // the last of each family wins
    const engine = (i: number) => (dirs.length === 1 ? 'builtin' : `builtin-${snaps[i]}`);
    return parseCatalog(
      {
        engines: Object.fromEntries(dirs.map((dir, i) => [engine(i), { kind: 'builtin', checkpoint: dir }])),
        models: [
          // A checkpoint with vision weights takes images (the engine reports it too).
          ...dirs.map((dir, i) => ({
            id: snaps[i],
            engine: engine(i),
            ...(checkpointInfo(dir).config.vision ? { image_input: true } : {}),
          })),
          ...[...aliases].map(([id, alias]) => ({ id, alias })),
        ],
        default_model: aliases.has(DEFAULT_ALIAS) ? DEFAULT_ALIAS : named[named.length - 1].alias,
      },
      '--checkpoint',
    );
  }
  if (f.gguf) {
    const snap = `gguf-${today(String(f.gguf))}`;
    return parseCatalog(
      {
        engines: { gguf: { kind: 'llamacpp', gguf: String(f.gguf) } },
        models: [
          { id: snap, engine: 'gguf' },
          { id: 'gguf', alias: snap },
        ],
      },
      '--gguf',
    );
  }
  const name = String(f['upstream-model'] ?? 'upstream');
  const spec: EngineSpec = {
    kind: 'upstream',
    url: String(f.upstream),
    ...(f['upstream-key'] ? { key: String(f['upstream-key']) } : {}),
    ...(f['upstream-model'] ? { model: name } : {}),
  };
  return parseCatalog({ engines: { upstream: spec }, models: [{ id: name, engine: 'upstream', owned_by: 'upstream' }] }, '--upstream');
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models)',
  usage:
    'tetra serve (--checkpoint DIR | --gguf FILE | --upstream URL [--upstream-key KEY] [--upstream-model NAME] | --config FILE) ' +
    '[--host H] [--port P]',
  flags: {
    checkpoint: {
      type: 'string',
      help: 'serve a tetra checkpoint (or the newest in a run directory); several, comma-separated, as pinned snapshots',
    },
    gguf: { type: 'string', help: 'serve a GGUF model through llama.cpp' },
    upstream: { type: 'string', help: 'proxy an OpenAI-compatible server at this base URL' },
    'upstream-key': { type: 'string', help: 'API key for --upstream' },
    'upstream-model': { type: 'string', help: 'model name at --upstream (also its id here)' },
    config: { type: 'string', help: 'catalog config file: engines, models, aliases, keys, plans (README "API")' },
    host: { type: 'string', help: 'address to bind', default: '127.0.0.1' },
    port: { type: 'number', help: 'port (0 picks a free one)', default: 8080 },
    db: { type: 'string', help: 'API keys and usage ledger (default $TETRA_HOME/tetra.db; see tetra keys, tetra usage)' },
    plans: { type: 'string', help: 'plans file (default $TETRA_HOME/plans.json)' },
    'moderation-model': { type: 'string', help: 'serve /v1/moderations with this classifier (tetra safety moderation-train --out DIR)' },
    'no-app': { type: 'boolean', help: 'serve the API only, without the chat app at /' },
  },
  async run(f) {
    const sources = ['checkpoint', 'gguf', 'upstream', 'config'].filter((k) => f[k] !== undefined);
    if (sources.length === 0)
      throw new UsageError(`${cmd}: no default model is embedded yet; pass --checkpoint DIR, --gguf FILE, --upstream URL or --config FILE`);
    if (sources.length > 1)
      throw new UsageError(`${cmd}: pass one of --${sources.join(', --')}, not several (a --config file can hold several engines)`);
    const port = numberFlag(f, 'port', 0, 65535, cmd);
    const host = String(f.host);
    let config: CatalogConfig;
    try {
      config = f.config ? loadCatalogFile(String(f.config)) : singleEngineCatalog(f);
    } catch (e) {
      if (e instanceof CatalogError) throw new UsageError(`${cmd}: ${e.message}`);
      throw e;
    }
    // Keys live only in the database, as hashes (`tetra keys create`); a config file never holds secrets.
    if (config.raw.keys)
      throw new UsageError(
        `${cmd}: ${f.config}: a "keys" section would store secrets in plain text; create keys with \`tetra keys create --plan ` +
          `NAME\` (only their hashes are stored) and remove it`,
      );
    if (config.raw.plans)
      throw new UsageError(
        `${cmd}: ${f.config}: plans are read from --plans FILE (README "Governance"), not from the catalog; move the "plans" section there`,
      );
    const gov = await openGovernance({ db: f.db as string | undefined, plans: f.plans as string | undefined });
    const auth = gov.auth,
      keyed = gov.auth.mode() === 'keys';
    if (!keyed && !isLoopback(host) && host !== 'localhost') {
      throw new UsageError(
        `${cmd}: no API keys exist, so the server only serves this machine; bind --host 127.0.0.1, or create one with \`tetra keys ` +
          `create --plan NAME\` to serve ${host}`,
      );
    }
    const engines = new Map<string, ChatEngine>();
    for (const [name, spec] of Object.entries(config.engines)) {
      const open = engineOpeners[spec.kind];
      if (!open)
        throw new UsageError(
          `${cmd}: engine "${name}" is of kind "${spec.kind}", which this build cannot start yet (available: ` +
            `${Object.keys(engineOpeners).join(', ')})`,
        );
      engines.set(name, await open(spec));
    }
    for (const s of config.snapshots) {
      const w = engines.get(s.engine)!.contextWindow();
      if (s.contextWindow && s.contextWindow > w)
        console.error(
          `${cmd}: warning: ${s.id} promises a ${s.contextWindow}-token window but engine "${s.engine}" holds ${w}; long requests ` +
            `will fail with context_length_exceeded`,
        );
    }
    let moderation: ModerationService | undefined;
    if (f['moderation-model'] !== undefined) {
      const dir = resolve(String(f['moderation-model']));
      const c = await ModerationClassifier.load(dir, defaultBackend()).catch((e: Error) => {
        throw new UsageError(`${cmd}: --moderation-model ${dir}: ${e.message}`);
      });
      moderation = { model: `tetra-moderation-${basename(dir)}`, moderate: (text) => c.moderate(text) };
    }
    const gateway = createGateway({
      catalog: new Catalog(config),
      engines,
      auth,
      limits: gov.limits,
      ledger: gov.ledger,
      metrics: gov.metrics,
      moderation,
    });
    let appNote = 'chat app off (--no-app)';
    if (!f['no-app']) {
      const store = new AppStore(gov.keys.db);
      const cut = store.settleInterrupted('The server stopped before this answer finished.');
      if (cut) console.error(`${cmd}: ${cut} answer(s) were cut off when the server last stopped; they are marked as failed`);
      // A release's report card (report.html beside its weights) is linked from the app for its snapshot.
      const reports: Record<string, string> = {};
      for (const s of config.snapshots) {
        const spec = config.engines[s.engine];
        if (spec?.kind !== 'builtin' || typeof spec.checkpoint !== 'string') continue;
        const file = join(resolveCheckpoint(spec.checkpoint), 'report.html');
        if (existsSync(file)) reports[s.id] = file;
      }
      const app = mountChatApp(gateway, { store, plans: gov.plans, limits: gov.limits, reports });
      appNote = !app.assets.built
        ? `chat app not built (run \`npm run build:web\`); / answers 503`
        : store.hasUsers()
          ? 'chat app at / (users sign in; `tetra users list`)'
          : 'chat app at / (no users: open to this machine only, no sign-in; `tetra users create` adds accounts)';
    }
    const url = await gateway.listen(port, host);
    if (!keyed) console.error(`${cmd}: no API keys configured: answering loopback clients only`);
    console.error(`${cmd}: ${appNote}`);
    for (const line of gov.notices().slice(1)) console.error(`${cmd}: ${line}`);
    console.error(
      `${cmd}: models ${new Catalog(config)
        .entries()
        .map((e) => (e.alias ? `${e.id} -> ${e.snapshot.id}` : e.id))
        .join(', ')}`,
    );
    console.log(`listening on ${url}`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop).off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop).on('SIGTERM', stop);
    });
    await gateway.close();
    await Promise.all([...engines.values()].map((e) => e.close()));
    await gov.close();
    return 0;
  },
};
