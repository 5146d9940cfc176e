/**
 * The shape every benchmark module reports: `export async function run(): Promise<BenchResult[]>`.
 * A result may name the result it should be compared with (`baseline`), so a report can print the
 * ratio, for example compiled expression against hand-written JavaScript.
 */

export interface BenchResult {
  /** Stable identifier, e.g. `expr.eval retry_num > 0 && last_error == 'tls'`. */
  name: string;
  /** Unit of `value`, e.g. `µs` per compile or `ns/op` per evaluation. */
  unit: string;
  /** Lower is better for every time unit. */
  value: number;
  /** `name` of the result this one should be compared with. */
  baseline?: string;
}
