// Evaluation semantics of compiled expressions: Stalwart's comparisons between text and numbers,
// missing variables, short-circuit evaluation, constant folding, captures of `matches`, robustness
// against malformed contexts, and the real strategy-selection expressions mxsec configurations use.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledExpression } from './compile.js';
import { compileExpression } from './compile.js';
import type { EvalContext, Value } from './value.js';
import { QUEUE_VARIABLES } from './variables.js';

function compile(source: string): CompiledExpression {
  const result = compileExpression(source, { variables: QUEUE_VARIABLES });
  if (!result.ok) throw new Error(`${source}: ${JSON.stringify(result.errors)}`);
  return result.expr;
}

const run = (source: string, ctx: EvalContext = {}): Value => compile(source).evaluate(ctx);

describe('Stalwart comparison: text against a number compares the parsed text', () => {
  const table: ReadonlyArray<readonly [string, Value]> = [
    ["'10' == 10", true],
    ["10 == '10'", true],
    ["'10.0' == 10", true],
    ["'abc' == 0", true], // unparsable text is 0, Stalwart's rule
    ["'' == 0", true],
    ["'10' > 9", true],
    ["'10' > '9'", false], // two strings compare as text
    ["'b' > 'a'", true],
    ['1 == 1.0', true],
    ['true == 1', true],
    ['false == 0', true],
    ["'1' != 1", false],
    ["[1, 2] == [1, '2']", true],
    ['[1] == 1', false],
    ["'a' < 'b'", true],
    ['2 >= 2', true],
    ['2 <= 1', false],
    ['[1] > 5', true], // an array sorts above a number
    ['5 < [1]', true],
  ];
  for (const [source, value] of table)
    test(`${source} is ${String(value)}`, () => assert.equal(run(source), value));
});

describe('Stalwart arithmetic', () => {
  const table: ReadonlyArray<readonly [string, Value]> = [
    ["'a' + 1", 'a1'],
    ["1 + 'a'", '1a'],
    ["'' + 5", 5], // an empty string operand yields the other operand
    ["5 + ''", 5],
    ["'x' + true", 'x1'],
    ['true + 1', 2],
    ['[1] + [2, 3]', [1, 2, 3]],
    ['[1] + 2', [1, 2]],
    ['0 + [1]', [0, 1]],
    ['[1, 2, 1] - 1', [2]],
    ["'7' - 2", 5],
    ["'3' * '4'", 12],
    ['7 / 2', 3.5],
    ['1 / 0', 0], // division by zero gives 0, Stalwart's rule
    ["1 / 'x'", 0],
    ["-'5'", -5],
    ["!''", true],
    ['!5', false],
    ['!0.0', true],
  ];
  for (const [source, value] of table)
    test(`${source} is ${JSON.stringify(value)}`, () => assert.deepEqual(run(source), value));
});

describe('Stalwart variables: a missing variable is the empty string', () => {
  test('a declared variable absent from the context reads as an empty string', () =>
    assert.equal(run('rcpt'), ''));
  test('retry_num > 0 is false when retry_num is missing', () =>
    assert.equal(run('retry_num > 0'), false));
  test('retry_num == 0 is true when retry_num is missing (empty text parses as 0)', () =>
    assert.equal(run('retry_num == 0'), true));
  test('a malformed context value (null, object, bigint) reads as an empty string', () => {
    const expr = compile('rcpt + sender + mx');
    const ctx = { rcpt: null, sender: { x: 1 }, mx: 10n } as unknown as EvalContext;
    assert.equal(expr.evaluate(ctx), '');
  });
  test('an array with malformed items keeps its well-formed items', () => {
    const ctx = { rcpt: ['a', null, ['b', undefined]] } as unknown as EvalContext;
    assert.deepEqual(run('rcpt', ctx), ['a', '', ['b', '']]);
  });
});

describe('Stalwart short-circuit: && and || skip the right side', () => {
  /** A context that records which variables evaluation read. */
  function recording(values: Record<string, Value>): { ctx: EvalContext; read: string[] } {
    const read: string[] = [];
    const ctx = new Proxy(values, {
      get(target, name) {
        if (typeof name === 'string') read.push(name);
        return target[name as string];
      },
    }) as EvalContext;
    return { ctx, read };
  }

  const table: ReadonlyArray<readonly [string, Record<string, Value>, Value, readonly string[]]> = [
    [
      "retry_num > 0 && last_error == 'tls'",
      { retry_num: 0, last_error: 'tls' },
      false,
      ['retry_num'],
    ],
    [
      "retry_num > 0 && last_error == 'tls'",
      { retry_num: 1, last_error: 'tls' },
      true,
      ['retry_num', 'last_error'],
    ],
    ["mx == 'a' || contains(rcpt, 'b')", { mx: 'a', rcpt: 'b' }, true, ['mx']],
    ["mx == 'a' | contains(rcpt, 'b')", { mx: 'a', rcpt: 'b' }, true, ['mx']],
    ['mx & rcpt', { mx: '', rcpt: 'b' }, '', ['mx']],
    ["mx == 'a' || contains(rcpt, 'b')", { mx: 'z', rcpt: 'abc' }, true, ['mx', 'rcpt']],
    ['mx ^ rcpt', { mx: '', rcpt: 'b' }, true, ['mx', 'rcpt']], // ^ never short-circuits
  ];
  for (const [source, values, value, reads] of table) {
    test(`${source} with ${JSON.stringify(values)} reads only ${reads.join(', ')}`, () => {
      const { ctx, read } = recording(values);
      assert.deepEqual(compile(source).evaluate(ctx), value);
      assert.deepEqual(read, reads);
    });
  }

  test('a decided && or || yields the left value itself; otherwise the truthiness of the right', () => {
    assert.equal(run("rcpt || 'fallback'", { rcpt: 'x@y' }), 'x@y');
    assert.equal(run("rcpt || 'fallback'", { rcpt: '' }), true);
    assert.equal(run('retry_num && 5', { retry_num: 0 }), 0);
    assert.equal(run("retry_num && ''", { retry_num: 2 }), false);
  });

  test('the right side of a decided && does not run its matches (captures keep the earlier match)', () => {
    assert.equal(
      run("matches('(x)', rcpt) && (0 && matches('(y)', rcpt)) || $1", { rcpt: 'xy' }),
      true,
    );
    assert.equal(
      run("matches('(x)', rcpt) && (0 && matches('(y)', rcpt)) || 0 ^ $1 == 'x'", { rcpt: 'xy' }),
      true,
    );
  });
});

describe('durations compare with millisecond variables', () => {
  const table: ReadonlyArray<readonly [string, number, boolean]> = [
    ['queue_age > 1h', 3_600_001, true],
    ['queue_age > 1h', 3_600_000, false],
    ['queue_age >= 1h', 3_600_000, true],
    ['queue_age < 30s', 29_999, true],
    ['queue_age > 1d - 1h', 82_800_001, true],
  ];
  for (const [source, age, value] of table) {
    test(`${source} with queue_age ${age} is ${String(value)}`, () =>
      assert.equal(run(source, { queue_age: age }), value));
  }
});

describe('constant folding', () => {
  test("'invalid-tls' is a constant", () => {
    const expr = compile("'invalid-tls'");
    assert.equal(expr.constant, 'invalid-tls');
    assert.equal(expr.evaluate({ mx: 'anything' }), 'invalid-tls');
  });
  test('an expression of literals and functions folds to its value', () => {
    assert.equal(compile('1h + 2 * 3').constant, 3_600_006);
    assert.deepEqual(compile("split('a,b', ',')").constant, ['a', 'b']);
    assert.equal(compile('true || retry_num').constant, true);
  });
  test('an expression that reads a variable has no constant', () => {
    assert.equal('constant' in compile('retry_num > 0'), false);
    assert.equal('constant' in compile('false && retry_num'), true);
  });
});

describe('matches: captures as Stalwart exposes them', () => {
  test('$0 is the whole match and $1.. the groups', () => {
    const expr = compile("matches('^([^@]+)@(.+)$', rcpt) && $2 == 'example.org'");
    assert.equal(expr.evaluate({ rcpt: 'user@example.org' }), true);
    assert.equal(expr.evaluate({ rcpt: 'user@other.org' }), false);
    assert.equal(run("matches('^([^@]+)@(.+)$', rcpt) && $0", { rcpt: 'u@d' }), true);
  });
  test('a capture after a failed match, or past the last group, is empty', () => {
    assert.equal(run("matches('(z)', rcpt) || $1", { rcpt: 'abc' }), false);
    assert.equal(run("matches('(a)', rcpt) && $7 == ''", { rcpt: 'abc' }), true);
  });
  test('a host can share captures between a condition and a result, as Stalwart if-blocks do', () => {
    const captures = { groups: [] as readonly string[] };
    assert.equal(
      compile("matches('@(.+)$', rcpt)").evaluate({ rcpt: 'u@mx.example' }, captures),
      true,
    );
    assert.equal(compile("'relay-' + $1").evaluate({}, captures), 'relay-mx.example');
  });
  test('Rust inline flags and a computed pattern work', () => {
    assert.equal(run("matches('(?i)^USER', rcpt)", { rcpt: 'user@x' }), true);
    assert.equal(run('matches(sender, rcpt)', { sender: '^u', rcpt: 'user@x' }), true);
    assert.equal(run('matches(sender, rcpt)', { sender: '(', rcpt: 'user@x' }), false); // invalid: no match
  });
});

describe('real strategy expressions', () => {
  const contexts: ReadonlyArray<EvalContext> = [
    {},
    { retry_num: 0, last_error: 'none', mx: 'mx.example.org', rcpt_domain: 'example.org' },
    { retry_num: 1, last_error: 'tls', mx: 'highly-secure.host.org', rcpt_domain: 'agency.gov' },
    { retry_num: 2, last_error: 'tls', mx: 'mx.b.org', rcpt_domain: 'b.org' },
    { retry_num: 3, last_error: 'dns', mx: 'mx.a.org', rcpt_domain: 'a.org.gov.uk' },
  ];
  const table: ReadonlyArray<readonly [string, readonly Value[]]> = [
    ["retry_num > 0 && last_error == 'tls'", [false, false, true, true, false]],
    ["retry_num > 1 && last_error == 'tls'", [false, false, false, true, false]],
    ["mx == 'highly-secure.host.org'", [false, false, true, false, false]],
    ["'invalid-tls'", ['invalid-tls', 'invalid-tls', 'invalid-tls', 'invalid-tls', 'invalid-tls']],
    [
      "ends_with(rcpt_domain, '.gov') || contains(['a.org','b.org'], rcpt_domain)",
      [false, false, true, true, false],
    ],
  ];
  for (const [source, expected] of table) {
    test(source, () => {
      const expr = compile(source);
      assert.deepEqual(
        contexts.map((ctx) => expr.evaluate(ctx)),
        expected,
      );
    });
  }
});
