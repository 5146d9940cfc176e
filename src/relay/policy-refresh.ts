/**
 * The relay's periodic MTA-STS refresh: every `intervalMs` (first run after `firstDelayMs`) it refreshes
 * the cached policies that are due (`refreshDuePolicies`), one run at a time, and logs what it did. The
 * timers never keep the process alive; `stop()` cancels them and waits for a run in progress.
 */
import type { MtaStsDeps } from '../mtasts/resolve.js';
import { refreshDuePolicies } from '../mtasts/refresh.js';
import type { Logger } from '../core/ports.js';

export interface PolicyRefreshOptions {
  /** Read at every run, so a configuration reload applies. */
  readonly deps: () => MtaStsDeps;
  readonly timeoutMs: () => number;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly firstDelayMs?: number;
}

export function startPolicyRefresh(options: PolicyRefreshOptions): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = (): void => {
    running = running.then(async () => {
      if (stopped) return;
      const report = await refreshDuePolicies(options.deps(), { timeoutMs: options.timeoutMs() });
      if (report.refreshed.length > 0)
        options.logger.info(
          { event: 'mta-sts-refreshed', domains: report.refreshed },
          'MTA-STS policies refreshed',
        );
      for (const failure of report.failed) {
        options.logger.warn(
          { event: 'mta-sts-refresh-failed', domain: failure.domain, message: failure.message },
          'MTA-STS refresh failed; the cached policy stays in force',
        );
      }
    });
  };
  const first = setTimeout(run, options.firstDelayMs ?? 60_000);
  const every = setInterval(run, options.intervalMs ?? 3_600_000);
  first.unref();
  every.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await running;
    },
  };
}
