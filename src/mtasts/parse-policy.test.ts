import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AGE_LIMIT, mxPatternProblem, parsePolicy } from './parse-policy.js';

const lf = (...lines: string[]): string => lines.map((line) => `${line}\n`).join('');

/** Asserts a parse failure and returns the error, so tests can check the line and the wording. */
function failure(text: string): { line?: number; message: string } {
  const parsed = parsePolicy(text);
  assert.equal(parsed.ok, false, `expected failure for ${JSON.stringify(text)}`);
  return parsed.ok ? { message: '' } : parsed.error;
}

describe('RFC 8461 3.2: policy examples', () => {
  test('RFC 8461 3.2: the RFC example policy (CRLF) parses', () => {
    const text =
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n';
    assert.deepEqual(parsePolicy(text), {
      ok: true,
      policy: {
        version: 'STSv1',
        mode: 'enforce',
        maxAge: 604800,
        mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'],
      },
    });
  });

  test('RFC 8461 3.2: LF line endings parse the same as CRLF', () => {
    const crlf = parsePolicy(
      'version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n',
    );
    const plain = parsePolicy('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n');
    assert.ok(crlf.ok);
    assert.deepEqual(plain, crlf);
  });

  test('RFC 8461 3.2: LF and CRLF may be mixed, and the last terminator is optional', () => {
    const parsed = parsePolicy('version: STSv1\nmode: enforce\r\nmx: a.example\nmax_age: 1');
    assert.ok(parsed.ok && parsed.policy.maxAge === 1);
  });

  test('RFC 8461 3.2: field order does not matter', () => {
    const parsed = parsePolicy(
      lf('max_age: 10', 'mx: a.example', 'mode: enforce', 'version: STSv1'),
    );
    assert.ok(parsed.ok && parsed.policy.mode === 'enforce');
  });

  test('RFC 8461 3.2: mode none needs no mx', () => {
    assert.deepEqual(parsePolicy(lf('version: STSv1', 'mode: none', 'max_age: 86400')), {
      ok: true,
      policy: { version: 'STSv1', mode: 'none', maxAge: 86400, mx: [] },
    });
  });

  test('RFC 8461 3.2: unknown keys are ignored, also when repeated', () => {
    const parsed = parsePolicy(
      lf(
        'version: STSv1',
        'mode: enforce',
        'future_key: some value',
        'future_key: ünïcode',
        'mx: a.example',
        'max_age: 5',
      ),
    );
    assert.ok(parsed.ok && parsed.policy.mx.length === 1);
  });

  test('RFC 8461 3.2: whitespace after the colon and at line end is allowed', () => {
    const parsed = parsePolicy(
      'version:STSv1\nmode:\t enforce \t\nmx:   A.Example.COM  \nmax_age: 604800\t\n',
    );
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.policy.mx, ['a.example.com']);
  });

  test('RFC 8461 3.2: max_age 0 and 31557600 are the bounds', () => {
    for (const maxAge of [0, MAX_AGE_LIMIT]) {
      const parsed = parsePolicy(
        lf('version: STSv1', 'mode: enforce', 'mx: a.example', `max_age: ${maxAge}`),
      );
      assert.ok(parsed.ok && parsed.policy.maxAge === maxAge);
    }
  });

  test('RFC 8461 3.2: empty lines at the end are tolerated', () => {
    assert.ok(parsePolicy(lf('version: STSv1', 'mode: none', 'max_age: 1', '', '')).ok);
  });
});

describe('RFC 8461 3.2: malformed policies', () => {
  const base = {
    version: 'version: STSv1',
    mode: 'mode: enforce',
    mx: 'mx: mail.example.com',
    maxAge: 'max_age: 604800',
  };
  const cases: readonly [string, string[], number | undefined, RegExp][] = [
    ['missing version', [base.mode, base.mx, base.maxAge], undefined, /missing "version"/],
    ['wrong version', ['version: STSv2', base.mode, base.mx, base.maxAge], 1, /STSv1/],
    ['lower-case version value', ['version: stsv1', base.mode, base.mx, base.maxAge], 1, /STSv1/],
    [
      'duplicate version',
      [base.version, base.version, base.mode, base.mx, base.maxAge],
      2,
      /duplicate "version" \(first on line 1\)/,
    ],
    ['missing mode', [base.version, base.mx, base.maxAge], undefined, /missing "mode"/],
    ['bad mode', [base.version, 'mode: strict', base.mx, base.maxAge], 2, /mode must be/],
    [
      'upper-case mode value',
      [base.version, 'mode: Enforce', base.mx, base.maxAge],
      2,
      /mode must be/,
    ],
    [
      'upper-case key is an unknown key',
      [base.version, 'Mode: enforce', base.mx, base.maxAge],
      undefined,
      /missing "mode"/,
    ],
    [
      'duplicate mode',
      [base.version, base.mode, 'mode: testing', base.mx, base.maxAge],
      3,
      /duplicate "mode"/,
    ],
    ['missing max_age', [base.version, base.mode, base.mx], undefined, /missing "max_age"/],
    [
      'max_age above 31557600',
      [base.version, base.mode, base.mx, 'max_age: 31557601'],
      4,
      /exceeds/,
    ],
    [
      'max_age of 11 digits',
      [base.version, base.mode, base.mx, 'max_age: 00000000001'],
      4,
      /1 to 10 digits/,
    ],
    ['negative max_age', [base.version, base.mode, base.mx, 'max_age: -1'], 4, /digits/],
    ['max_age with a sign', [base.version, base.mode, base.mx, 'max_age: +5'], 4, /digits/],
    ['decimal max_age', [base.version, base.mode, base.mx, 'max_age: 1.5'], 4, /digits/],
    ['max_age with a unit', [base.version, base.mode, base.mx, 'max_age: 1d'], 4, /digits/],
    [
      'duplicate max_age',
      [base.version, base.mode, base.mx, base.maxAge, 'max_age: 1'],
      5,
      /duplicate "max_age"/,
    ],
    [
      'no mx in enforce',
      [base.version, base.mode, base.maxAge],
      undefined,
      /enforce requires at least one "mx"/,
    ],
    [
      'no mx in testing',
      [base.version, 'mode: testing', base.maxAge],
      undefined,
      /testing requires/,
    ],
    [
      'mx with non-ASCII (U-label)',
      [base.version, base.mode, 'mx: mail.bücher.example', base.maxAge],
      3,
      /A-label/,
    ],
    [
      'mx with an underscore',
      [base.version, base.mode, 'mx: mail_1.example', base.maxAge],
      3,
      /label/,
    ],
    [
      'mx with a trailing dot',
      [base.version, base.mode, 'mx: mail.example.', base.maxAge],
      3,
      /trailing dot/,
    ],
    [
      'mx wildcard not leftmost',
      [base.version, base.mode, 'mx: mail.*.example', base.maxAge],
      3,
      /label/,
    ],
    ['mx bare wildcard', [base.version, base.mode, 'mx: *', base.maxAge], 3, /label/],
    [
      'mx with a leading hyphen label',
      [base.version, base.mode, 'mx: -mail.example', base.maxAge],
      3,
      /label/,
    ],
    [
      'mx with an empty label',
      [base.version, base.mode, 'mx: mail..example', base.maxAge],
      3,
      /empty label/,
    ],
    [
      'mx with two names on one line',
      [base.version, base.mode, 'mx: a.example b.example', base.maxAge],
      3,
      /label/,
    ],
    ['empty mx value', [base.version, base.mode, 'mx:', base.maxAge], 3, /empty value/],
    [
      'line without a colon',
      [base.version, base.mode, 'mx mail.example.com', base.maxAge],
      3,
      /expected "key: value"/,
    ],
    [
      'space before the colon',
      [base.version, 'mode : enforce', base.mx, base.maxAge],
      2,
      /expected "key: value"/,
    ],
    [
      'leading whitespace on a line',
      [base.version, ' mode: enforce', base.mx, base.maxAge],
      2,
      /expected "key: value"/,
    ],
    [
      'empty line between fields',
      [base.version, '', base.mode, base.mx, base.maxAge],
      2,
      /empty line/,
    ],
    [
      'control character in a value',
      [base.version, base.mode, base.mx, base.maxAge, 'ext: a\u0001b'],
      5,
      /control character/,
    ],
    [
      'a key longer than 32 characters',
      [base.version, base.mode, base.mx, base.maxAge, `${'k'.repeat(33)}: v`],
      5,
      /expected "key: value"/,
    ],
  ];
  for (const [what, lines, line, message] of cases) {
    test(`RFC 8461 3.2: ${what} is rejected${line === undefined ? '' : ` at line ${line}`}`, () => {
      const error = failure(lf(...lines));
      assert.equal(error.line, line);
      assert.match(error.message, message);
    });
  }

  test('RFC 8461 3.2: a lone CR is not a line terminator', () => {
    const error = failure('version: STSv1\rmode: enforce\nmx: a.example\nmax_age: 1\n');
    assert.equal(error.line, 1);
  });

  test('RFC 8461 3.2: an empty body is not a policy', () => {
    assert.match(failure('').message, /empty/);
    assert.match(failure('\n\n').message, /empty/);
  });

  test('RFC 8461 3.2: an HTML error page served as 200 is not a policy', () => {
    assert.equal(failure('<html><body>Not here</body></html>\n').line, 1);
  });

  test('RFC 8461 3.2: error messages clip huge values and mask non-ASCII', () => {
    const long = failure(lf('version: STSv1', `mode: ${'x'.repeat(500)}`, 'max_age: 1'));
    assert.ok(long.message.length < 200);
    const unicode = failure(lf('version: STSv1', 'mode: énforce', 'max_age: 1'));
    assert.match(unicode.message, /"\?nforce"/);
  });
});

describe('RFC 8461 3.2: mx pattern syntax', () => {
  for (const good of [
    'mail.example.com',
    '*.example.com',
    'a',
    'xn--bcher-kva.example',
    'MX1.EXAMPLE.COM',
    `${'a'.repeat(63)}.example`,
  ]) {
    test(`RFC 8461 3.2: ${JSON.stringify(good)} is a valid mx pattern`, () =>
      assert.equal(mxPatternProblem(good), undefined));
  }
  for (const bad of [
    '',
    '*.',
    '*.*.example',
    `${'a'.repeat(64)}.example`,
    'a-.example',
    'bücher.example',
    `${'a.'.repeat(127)}a`,
  ]) {
    test(`RFC 8461 3.2: ${JSON.stringify(bad.slice(0, 40))} is not a valid mx pattern`, () =>
      assert.notEqual(mxPatternProblem(bad), undefined));
  }
});
