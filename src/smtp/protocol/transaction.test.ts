import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Transaction, recipientVerdicts } from './transaction.js';
import type { TransactionOutcome, TransactionStep } from './transaction.js';
import { makeReply } from './reply.js';

const r = (code: number) => makeReply(code, [`${code} text`]);
const plan = (pipelining: boolean, count = 2) => ({
  mailLine: 'MAIL FROM:<a@x.test>\r\n',
  recipients: Array.from({ length: count }, (_, i) => ({
    address: `r${i}@y.test`,
    line: `RCPT TO:<r${i}@y.test>\r\n`,
  })),
  pipelining,
});

/** Runs a transaction against a list of reply codes; returns what was written and the outcome. */
function run(
  pipelining: boolean,
  codes: number[],
  count = 2,
): { writes: string[]; outcome: TransactionOutcome; unused: number } {
  const tx = new Transaction(plan(pipelining, count));
  const writes: string[] = [];
  let step: TransactionStep = tx.start();
  const queue = [...codes];
  for (;;) {
    if (step.type === 'done') return { writes, outcome: step.outcome, unused: queue.length };
    if (step.type === 'write') writes.push(step.text);
    if (step.type === 'write-data') {
      writes.push('<data>');
      tx.dataWritten();
    }
    const code = queue.shift();
    assert.ok(code !== undefined, `transaction wanted more replies after ${writes.join('|')}`);
    step = tx.onReply(r(code));
  }
}

const summary = (o: TransactionOutcome) => ({
  rcpt: o.recipients.map((x) => `${x.accepted ? '+' : '-'}${x.reply.code}`),
  data: o.data.status,
  rset: o.rset?.code,
});

describe('transaction outcomes', () => {
  // [pipelining, replies, expected writes, expected summary]
  const table: [string, boolean, number[], string[], ReturnType<typeof summary>][] = [
    [
      'RFC 5321 3.3: all accepted, delivered',
      false,
      [250, 250, 250, 354, 250],
      ['MAIL', 'RCPT', 'RCPT', 'DATA', '<data>'],
      { rcpt: ['+250', '+250'], data: 'accepted', rset: undefined },
    ],
    [
      'RFC 5321 3.3: one recipient refused, the other delivered',
      false,
      [250, 550, 251, 354, 250],
      ['MAIL', 'RCPT', 'RCPT', 'DATA', '<data>'],
      { rcpt: ['-550', '+251'], data: 'accepted', rset: undefined },
    ],
    [
      'RFC 5321 3.3: MAIL refused, every recipient carries its reply, nothing more is sent',
      false,
      [451],
      ['MAIL'],
      { rcpt: ['-451', '-451'], data: 'not-sent', rset: undefined },
    ],
    [
      'RFC 5321 4.1.1.5: no recipient accepted, no DATA, RSET',
      false,
      [250, 550, 452, 250],
      ['MAIL', 'RCPT', 'RCPT', 'RSET'],
      { rcpt: ['-550', '-452'], data: 'not-sent', rset: 250 },
    ],
    [
      'RFC 5321 3.3: DATA refused, RSET clears the transaction',
      false,
      [250, 250, 250, 554, 250],
      ['MAIL', 'RCPT', 'RCPT', 'DATA', 'RSET'],
      { rcpt: ['+250', '+250'], data: 'rejected', rset: 250 },
    ],
    [
      'RFC 5321 3.3: final reply negative after data',
      false,
      [250, 250, 250, 354, 552],
      ['MAIL', 'RCPT', 'RCPT', 'DATA', '<data>'],
      { rcpt: ['+250', '+250'], data: 'failed', rset: undefined },
    ],
    [
      'RFC 2920 3.1: pipelined group, all accepted',
      true,
      [250, 250, 250, 354, 250],
      ['MAIL RCPT RCPT DATA', '<data>'],
      { rcpt: ['+250', '+250'], data: 'accepted', rset: undefined },
    ],
    [
      'RFC 2920 3.1: pipelined, MAIL refused: recipients carry the MAIL reply despite their 503s',
      true,
      [550, 503, 503, 503],
      ['MAIL RCPT RCPT DATA'],
      { rcpt: ['-550', '-550'], data: 'not-sent', rset: undefined },
    ],
    [
      'RFC 2920 3.1: pipelined, no recipient and DATA refused, RSET',
      true,
      [250, 550, 550, 554, 250],
      ['MAIL RCPT RCPT DATA', 'RSET'],
      { rcpt: ['-550', '-550'], data: 'not-sent', rset: 250 },
    ],
    [
      'RFC 2920 3.1: pipelined, no recipient but DATA 354: a lone dot ends it',
      true,
      [250, 550, 550, 354, 554],
      ['MAIL RCPT RCPT DATA', '.'],
      { rcpt: ['-550', '-550'], data: 'not-sent', rset: undefined },
    ],
    [
      'RFC 2920 3.1: pipelined, a recipient refused, the other delivered',
      true,
      [250, 250, 450, 354, 250],
      ['MAIL RCPT RCPT DATA', '<data>'],
      { rcpt: ['+250', '-450'], data: 'accepted', rset: undefined },
    ],
  ];
  for (const [name, pipelining, codes, writes, expected] of table) {
    test(name, () => {
      const result = run(pipelining, codes);
      const verbs = result.writes.map((w) =>
        w
          .split('\r\n')
          .filter((l) => l !== '')
          .map((l) => l.split(/[ :]/)[0])
          .join(' '),
      );
      assert.deepEqual(verbs, writes);
      assert.deepEqual(summary(result.outcome), expected);
      assert.equal(result.unused, 0);
    });
  }

  test('RFC 2920 3.1: the FIFO tells the driver which reply comes next', () => {
    const tx = new Transaction(plan(true, 1));
    tx.start();
    assert.deepEqual(tx.expected, { kind: 'mail' });
    tx.onReply(r(250));
    assert.deepEqual(tx.expected, { kind: 'rcpt', index: 0 });
    tx.onReply(r(250));
    assert.deepEqual(tx.expected, { kind: 'data' });
  });

  test('a reply with no command outstanding is a driver bug', () => {
    const tx = new Transaction(plan(false, 1));
    assert.throws(() => tx.onReply(r(250)));
  });

  test('recipient verdicts: the deciding reply per recipient', () => {
    const { outcome } = run(false, [250, 550, 250, 354, 250]);
    assert.deepEqual(
      recipientVerdicts(outcome).map((v) => [v.delivered, v.reply.code]),
      [
        [false, 550],
        [true, 250],
      ],
    );
    const failed = run(false, [250, 250, 250, 354, 451]).outcome;
    assert.deepEqual(
      recipientVerdicts(failed).map((v) => [v.delivered, v.reply.code]),
      [
        [false, 451],
        [false, 451],
      ],
    );
  });
});
