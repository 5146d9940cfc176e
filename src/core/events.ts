/**
 * The registry of mxsec's diagnostics channels. Logic publishes facts here; logging, metrics and tests
 * subscribe. Publishing costs nothing when nobody listens, so policy code can report without knowing
 * who is interested. Every channel name is declared once, below.
 */
import diagnostics_channel from 'node:diagnostics_channel';

/** A computed strategy name matched no defined strategy and the built-in default was used instead. */
export interface StrategyFallbackEvent {
  readonly selector: string;
  readonly computed: string;
  readonly fallback: string;
  readonly ruleIndex: number;
}

export const channels = {
  strategyFallback: diagnostics_channel.channel('mxsec:strategy:fallback'),
} as const;

export function publishStrategyFallback(event: StrategyFallbackEvent): void {
  if (channels.strategyFallback.hasSubscribers) channels.strategyFallback.publish(event);
}
