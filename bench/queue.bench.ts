/**
 * Benchmark of the SQLite queue at depth: does a claim cost the same with 1,000, 10,000 and 100,000
 * messages queued, and how much memory does a process holding 100,000 of them use.
 *
 * Per scenario, a fresh data directory is filled through `mxsec serve`'s store (`openThreadedStore`,
 * the store on its own thread) with messages of one recipient each (all at `sink.test`: a queue for
 * one big provider) and a 1 KiB payload, 256 enqueues in flight so that its group commit shares the
 * fsyncs (more in flight is no faster and costs RSS). Then 1,000 timed cycles (after 50 untimed) of
 * `claimDue(now, 16, 60 s lease)` and a `delivered` `recordAttempt` for each of the 16 groups claimed,
 * first on that threaded store (the claim timed from the call to the resolution of its promise, the
 * thread round trip included), then on the in-process store (`openSqliteStore`: the store's own cost)
 * opened on the same file. After each cycle, untimed, as many due messages as were just delivered are
 * enqueued through the threaded store, so the queue keeps its depth. A claim loop stops after 8 s
 * once it has 100 timed cycles, so a store whose claims regressed shows in seconds, not minutes.
 *
 * Reported per scenario: the fill rate; µs per claim of 16 (mean, and p99 of the cycles) and µs per
 * message of claim and record together, in-process; the threaded claim's mean and p99. Each is
 * compared with the same figure at 1k as its baseline: a ratio near 1.0 is depth independence.
 * Scenarios: 1k, 10k and 100k messages all due, and 100k of which 99% are not due (first attempt an
 * hour ahead; to the claim index a deferred `temporary` recipient is the same thing, a row whose
 * `ready_at` is in the future) and 1% due.
 *
 * The process RSS (the store thread's memory included) is read right after the 100k fill with the
 * store open. That scenario runs first, before the other scenarios' garbage and freed thread memory,
 * and run.ts runs this module before `relay`; what earlier modules of the same run left behind is
 * still counted (the closing note gives the RSS at the module's start). The `relay.rss` figures are a
 * different measure: the growth while 100,000 messages are enqueued one durable commit at a time into
 * the in-process and the memory store.
 *
 * Measurements, not assertions: the module throws only when the setup is broken (a store does not
 * open, an operation fails, a claim hands out fewer than 16 groups, the depth is not kept). A closing
 * note on stderr gives RSS and claim latency at 100k and every fill time. Everything it creates is
 * removed. Run alone with `npx tsx bench/queue.bench.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StoreResult } from '../src/queue/model.js';
import type { QueueStore } from '../src/queue/store.js';
import type { ThreadedStore } from '../src/queue/threaded-store.js';
import { benchMessage, messageBody, openSqlite, openThreaded } from './queue-fixtures.js';
import { round } from './report.js';
import { mean, microsecondsSince, percentile, secondsSince } from './timing.js';
import type { BenchResult } from './types.js';

const PAYLOAD = 1_024;
const IN_FLIGHT = 256;
const CYCLES = 1_000;
const WARMUP = 50;
/** A claim loop stops after this long once it has `MIN_CYCLES` timed cycles (see the header). */
const BUDGET_SECONDS = 8;
const MIN_CYCLES = 100;
const LIMIT = 16;
const LEASE_MS = 60_000;
const DEFER_MS = 3_600_000;
const MiB = 2 ** 20;

const BODY = messageBody(PAYLOAD);

interface Scenario {
  /** Part of every result name, e.g. `100k queued`. */
  readonly label: string;
  readonly depth: number;
  /** When message `n` of the fill is first due; undefined is at once. */
  readonly firstAttemptAt?: (n: number, now: number) => number | undefined;
  /** Read the process RSS after the fill. */
  readonly rss?: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { label: '1k queued', depth: 1_000 },
  { label: '10k queued', depth: 10_000 },
  { label: '100k queued', depth: 100_000, rss: true },
  {
    label: '100k queued, 99% not due',
    depth: 100_000,
    firstAttemptAt: (n, now) => (n % 100 === 0 ? undefined : now + DEFER_MS),
  },
];

const note = (text: string): void => console.error(`bench queue: ${text}`);

function must<T>(result: StoreResult<T>): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** Enqueues `count` messages with `IN_FLIGHT` at a time; seconds taken. */
async function fill(
  store: ThreadedStore,
  count: number,
  firstAttemptAt: (n: number) => number | undefined = () => undefined,
): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      must(await store.enqueue(benchMessage(n, BODY, firstAttemptAt(n))));
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, lane));
  return secondsSince(start);
}

interface Cycles {
  /** µs per `claimDue`, one sample per timed cycle (`CYCLES`, fewer when the budget ran out). */
  readonly claimUs: number[];
  /** µs of claim and record together per message, over all timed cycles. */
  readonly perMessageUs: number;
}

/** Claim-and-record cycles on `store`; `refill` keeps the depth (untimed). */
async function cycles(store: QueueStore, refill: ThreadedStore, owner: string): Promise<Cycles> {
  const claimUs: number[] = [];
  let totalUs = 0;
  let messages = 0;
  const begun = process.hrtime.bigint();
  for (let i = 0; i < WARMUP + CYCLES; i++) {
    if (i >= WARMUP + MIN_CYCLES && secondsSince(begun) > BUDGET_SECONDS) break;
    const now = Date.now();
    const start = process.hrtime.bigint();
    const claims = must(await store.claimDue(now, LIMIT, LEASE_MS, owner));
    const claimed = microsecondsSince(start);
    const recorded = await Promise.all(
      claims.map((claim) =>
        store.recordAttempt({
          messageId: claim.message.id,
          owner,
          at: now,
          outcomes: claim.recipients.map((r) => ({
            address: r.address,
            kind: 'delivered' as const,
            status: '250',
          })),
        }),
      ),
    );
    const cycle = microsecondsSince(start);
    recorded.forEach(must);
    if (claims.length !== LIMIT)
      throw new Error(`${owner}: claimed ${claims.length} groups, not ${LIMIT}`);
    if (i >= WARMUP) {
      claimUs.push(claimed);
      totalUs += cycle;
      messages += claims.length;
    }
    await fill(refill, claims.length);
  }
  return { claimUs, perMessageUs: totalUs / messages };
}

interface Measured {
  readonly fillSeconds: number;
  readonly rssMiB?: number;
  readonly threaded: Cycles;
  readonly inProcess: Cycles;
}

async function measure(dir: string, scenario: Scenario): Promise<Measured> {
  const threaded = await openThreaded(dir);
  try {
    const now = Date.now();
    const fillSeconds = await fill(threaded, scenario.depth, (n) =>
      scenario.firstAttemptAt?.(n, now),
    );
    const rssMiB = scenario.rss === true ? process.memoryUsage().rss / MiB : undefined;
    const threadedCycles = await cycles(threaded, threaded, 'bench-threaded');
    const inProcess = openSqlite(dir);
    try {
      const inProcessCycles = await cycles(inProcess, threaded, 'bench-in-process');
      const stats = must(await inProcess.stats(Date.now()));
      const queued = stats.recipients.pending + stats.recipients.temporary;
      if (queued !== scenario.depth)
        throw new Error(`${scenario.label}: ${queued} recipients queued at the end`);
      return {
        fillSeconds,
        ...(rssMiB === undefined ? {} : { rssMiB }),
        threaded: threadedCycles,
        inProcess: inProcessCycles,
      };
    } finally {
      await inProcess.close();
    }
  } finally {
    await threaded.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mxsec-queue-bench-'));
  try {
    const rssBefore = process.memoryUsage().rss / MiB;
    const byScenario = new Map<Scenario, Measured>();
    // The scenario whose RSS is read goes first, before the others' garbage and freed thread memory.
    const order = [...SCENARIOS].sort((a, b) => Number(b.rss === true) - Number(a.rss === true));
    for (const [i, scenario] of order.entries()) {
      const scenarioDir = join(dir, String(i));
      byScenario.set(scenario, await measure(scenarioDir, scenario));
      // 100k messages are over 100 MB on disk.
      await rm(scenarioDir, { recursive: true, force: true });
    }
    const measured = SCENARIOS.map((scenario) => ({ scenario, m: byScenario.get(scenario)! }));
    const base = SCENARIOS[0]?.label ?? '';
    const names = (label: string) => ({
      fill: `queue.fill threaded store, ${IN_FLIGHT} in flight, ${label}`,
      claim: `queue.claim of ${LIMIT}, in-process sqlite, ${label}`,
      claimP99: `queue.claim of ${LIMIT} p99, in-process sqlite, ${label}`,
      perMessage: `queue.claim+record per message, in-process sqlite, ${label}`,
      threaded: `queue.claim of ${LIMIT}, threaded store end-to-end, ${label}`,
      threadedP99: `queue.claim of ${LIMIT} p99, threaded store end-to-end, ${label}`,
    });
    const baseNames = names(base);
    const results: BenchResult[] = [];
    for (const { scenario, m } of measured) {
      const n = names(scenario.label);
      const against = (key: keyof typeof n) =>
        scenario.label === base ? {} : { baseline: baseNames[key] };
      const time = (name: string, value: number, key: keyof typeof n, unit = 'µs'): void => {
        results.push({ name, unit, value: round(value, 1), ...against(key) });
      };
      // No baseline: the 1k fill lasts a few tens of ms, JIT warm-up included.
      results.push({
        name: n.fill,
        unit: 'msg/s',
        value: Math.round(scenario.depth / m.fillSeconds),
      });
      time(n.claim, mean(m.inProcess.claimUs), 'claim');
      time(n.claimP99, percentile(m.inProcess.claimUs, 99), 'claimP99');
      time(n.perMessage, m.inProcess.perMessageUs, 'perMessage', 'µs/msg');
      time(n.threaded, mean(m.threaded.claimUs), 'threaded');
      time(n.threadedP99, percentile(m.threaded.claimUs, 99), 'threadedP99');
    }
    const at100k = measured.find(({ m }) => m.rssMiB !== undefined);
    if (at100k !== undefined) {
      const { scenario, m } = at100k;
      results.push({
        name: `queue.rss of the process, threaded store, ${scenario.label}`,
        unit: 'MiB',
        value: Math.round(m.rssMiB ?? 0),
      });
      note(
        `${scenario.label}: RSS ${Math.round(m.rssMiB ?? 0)} MiB (${Math.round(rssBefore)} MiB at the module's start); claim of ${LIMIT} in-process mean ${round(mean(m.inProcess.claimUs), 1)} µs, p99 ${round(percentile(m.inProcess.claimUs, 99), 1)} µs; threaded end-to-end mean ${round(mean(m.threaded.claimUs), 1)} µs, p99 ${round(percentile(m.threaded.claimUs, 99), 1)} µs`,
      );
    }
    const short = measured.flatMap(({ scenario, m }) =>
      (['inProcess', 'threaded'] as const)
        .filter((store) => m[store].claimUs.length < CYCLES)
        .map((store) => `${scenario.label} ${store} ${m[store].claimUs.length}`),
    );
    if (short.length > 0)
      note(`budget of ${BUDGET_SECONDS} s ran out, timed cycles: ${short.join(', ')}`);
    note(
      `fill times: ${measured.map(({ scenario, m }) => `${scenario.label} ${m.fillSeconds.toFixed(1)} s`).join(', ')}`,
    );
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const start = process.hrtime.bigint();
  for (const r of await run()) process.stdout.write(`${r.name}: ${r.value} ${r.unit}\n`);
  note(`${secondsSince(start).toFixed(1)} s`);
}
