/**
 * `mxsec queue list|show ID|retry ID|delete ID|hold ID|release ID [--config F] [--json]`: inspects and
 * changes the SQLite queue in `storage.data-dir`, also while `mxsec serve` runs (WAL mode lets readers
 * and the relay work at once; writes wait for the relay's short transactions). `retry` makes the message
 * due now; the running relay picks it up at its next poll. Exit codes: 0 done, 64 usage, 69 no such
 * message, 75 the queue could not be opened or was busy, 78 configuration error.
 */
import type { MessageEnvelope, QueuedRecipient, StoreResult } from '../queue/model.js';
import { openSqliteStore } from '../queue/sqlite-store.js';
import type { QueueStore } from '../queue/store.js';
import { CONFIG_OPTION, loadForCommand, parse, UsageError } from './common.js';
import type { Command } from './common.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { line } from './output.js';
import type { Out } from './output.js';

const ACTIONS = ['list', 'show', 'retry', 'delete', 'hold', 'release'] as const;
type Action = (typeof ACTIONS)[number];

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function recipientJson(r: QueuedRecipient): Record<string, unknown> {
  return {
    address: r.address,
    state: r.state,
    retry_num: r.retryNum,
    notify_num: r.notifyNum,
    last_error: r.lastError,
    last_status: r.lastStatus,
    next_attempt_at: r.state === 'pending' || r.state === 'temporary' ? iso(r.nextAttemptAt) : null,
    leased_until: r.lease === null ? null : iso(r.lease.until),
  };
}

function envelopeJson(m: MessageEnvelope): Record<string, unknown> {
  return {
    id: m.id,
    sender: m.returnPath,
    size: m.size,
    created_at: iso(m.createdAt),
    expires_at: iso(m.expiresAt),
    priority: m.priority,
    queue_name: m.queueName,
    source: m.source,
    flags: m.flags,
    held: m.held,
    recipients: m.recipients.map(recipientJson),
  };
}

function envelopeText(m: MessageEnvelope): string {
  const head = `${m.id}  ${iso(m.createdAt)}  <${m.returnPath}>  ${m.size} bytes${m.held ? '  HELD' : ''}${m.flags.length > 0 ? `  [${m.flags.join(',')}]` : ''}`;
  return [
    head,
    ...m.recipients.map(
      (r) =>
        `  ${r.address}  ${r.state}  retry_num=${r.retryNum}  last_error=${r.lastError}${r.lastStatus === '' ? '' : `  ${r.lastStatus}`}`,
    ),
  ].join('\n');
}

function failure(out: Out, result: Extract<StoreResult<unknown>, { ok: false }>): ExitCode {
  line(out.stderr, `mxsec queue: ${result.error.message}`);
  return result.error.kind === 'not-found' ? EXIT.unavailable : EXIT.tempfail;
}

async function perform(
  store: QueueStore,
  action: Action,
  id: string | undefined,
  json: boolean,
  out: Out,
): Promise<ExitCode> {
  if (action === 'list') {
    const listed = await store.list({ limit: 1_000 });
    if (!listed.ok) return failure(out, listed);
    if (json) line(out.stdout, JSON.stringify({ messages: listed.value.map(envelopeJson) }));
    else for (const m of listed.value) line(out.stdout, envelopeText(m));
    return EXIT.ok;
  }
  if (id === undefined) throw new UsageError(`queue ${action} needs a message id`);
  if (action === 'show') {
    const got = await store.get(id);
    if (!got.ok) return failure(out, got);
    const attempts = await store.attempts(id);
    if (!attempts.ok) return failure(out, attempts);
    const log = attempts.value.map((a) => ({
      at: iso(a.at),
      address: a.address,
      host: a.host,
      result: a.kind,
      last_error: a.error,
      status: a.status,
    }));
    if (json) line(out.stdout, JSON.stringify({ ...envelopeJson(got.value), attempts: log }));
    else {
      line(out.stdout, envelopeText(got.value));
      for (const a of log)
        line(
          out.stdout,
          `  ${a.at}  ${a.address}  ${a.host ?? '-'}  ${a.result}  ${a.last_error}  ${a.status}`,
        );
    }
    return EXIT.ok;
  }
  const changed =
    action === 'retry'
      ? await store.retryNow(id, Date.now())
      : action === 'delete'
        ? await store.delete(id)
        : action === 'hold'
          ? await store.hold(id)
          : await store.release(id);
  if (!changed.ok) return failure(out, changed);
  if (json) line(out.stdout, JSON.stringify({ id, action, ok: true }));
  else
    line(
      out.stdout,
      `${id}: ${action === 'retry' ? 'due now' : action === 'delete' ? 'deleted' : action === 'hold' ? 'held' : 'released'}`,
    );
  return EXIT.ok;
}

export const queueCommand: Command = async (argv, out) => {
  const { values, positionals } = parse(
    argv,
    { ...CONFIG_OPTION, json: { type: 'boolean' } },
    true,
  );
  const [action, id, ...rest] = positionals;
  if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(
      `queue needs one of ${ACTIONS.join(', ')}${action === undefined ? '' : `, not '${action}'`}`,
    );
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0] ?? ''}'`);
  const loaded = await loadForCommand(values.config, out);
  if (loaded.config === undefined) return EXIT.config;
  const readOnly = action === 'list' || action === 'show';
  const opened = openSqliteStore({
    dataDir: loaded.config.storage.dataDir,
    readOnly,
    busyTimeoutMs: 10_000,
  });
  if (!opened.ok) return failure(out, opened);
  try {
    return await perform(opened.value, action as Action, id, values.json === true, out);
  } finally {
    await opened.value.close();
  }
};
