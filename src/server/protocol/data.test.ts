import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataReader } from './data.js';
import type { DataProblem, DataStep } from './data.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const LIMITS = { maxBytes: 1000, maxLine: 100 };

/** Feeds `input` split at `cut` (or whole); `rest` also holds the chunks never fed. */
function read(input: string, cut?: number, limits = LIMITS): DataStep {
  const reader = new DataReader(limits);
  const bytes = enc(input);
  const chunks = cut === undefined ? [bytes] : [bytes.subarray(0, cut), bytes.subarray(cut)];
  for (const [i, chunk] of chunks.entries()) {
    const step = reader.push(chunk);
    if (step.done)
      return {
        ...step,
        rest: new Uint8Array([...step.rest, ...chunks.slice(i + 1).flatMap((c) => [...c])]),
      };
  }
  return { done: false };
}

const CASES: {
  name: string;
  input: string;
  body?: string;
  problem?: DataProblem;
  rest?: string;
  done?: boolean;
}[] = [
  {
    name: 'RFC 5321 4.1.1.4: CRLF.CRLF ends the data',
    input: 'a\r\nb\r\n.\r\n',
    body: 'a\r\nb\r\n',
    rest: '',
  },
  {
    name: 'RFC 5321 4.1.1.4: an empty message is a lone dot line',
    input: '.\r\n',
    body: '',
    rest: '',
  },
  {
    name: 'RFC 5321 4.5.2: a leading dot is removed',
    input: '..hidden\r\n...\r\n.\r\n',
    body: '.hidden\r\n..\r\n',
  },
  {
    name: 'RFC 2920: bytes after the end are returned for the next command',
    input: 'x\r\n.\r\nQUIT\r\n',
    body: 'x\r\n',
    rest: 'QUIT\r\n',
  },
  {
    name: 'RFC 5321 2.3.8: a bare LF line ending rejects the message',
    input: 'a\nb\r\n.\r\n',
    problem: 'bare-line-ending',
  },
  {
    name: 'RFC 5321 2.3.8: a bare CR rejects the message',
    input: 'a\rb\r\n.\r\n',
    problem: 'bare-line-ending',
  },
  {
    name: 'smuggling: LF.CRLF does not end the data',
    input: 'a\n.\r\nMAIL FROM:<x@y>\r\n',
    done: false,
  },
  {
    name: 'smuggling: LF.CRLF then the real end rejects the whole message',
    input: 'a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n',
    problem: 'bare-line-ending',
    rest: '',
  },
  { name: 'smuggling: CRLF.LF does not end the data', input: 'a\r\n.\nb\r\n', done: false },
  { name: 'smuggling: CR.CR does not end the data', input: 'a\r.\rb\r\n', done: false },
  {
    name: 'RFC 5321 4.5.3.1.6: a line over the limit rejects the message',
    input: `${'x'.repeat(120)}\r\nok\r\n.\r\n`,
    problem: 'line-too-long',
  },
  {
    name: 'RFC 1870: a body over the size limit rejects the message',
    input: `${'y'.repeat(90)}\r\n`.repeat(12) + '.\r\n',
    problem: 'too-big',
  },
];

describe('DataReader', () => {
  for (const c of CASES) {
    test(`${c.name} (every split point)`, () => {
      for (let cut = 0; cut <= c.input.length; cut++) {
        const step = read(c.input, cut);
        if (c.done === false) {
          assert.equal(step.done, false, `cut ${cut}`);
          continue;
        }
        assert.ok(step.done, `cut ${cut}`);
        assert.equal(step.problem, c.problem, `cut ${cut}`);
        if (c.body !== undefined) assert.equal(dec(step.body), c.body, `cut ${cut}`);
        if (c.problem !== undefined) assert.equal(step.body.length, 0);
        if (c.rest !== undefined) assert.equal(dec(step.rest), c.rest, `cut ${cut}`);
      }
    });
  }

  test('RFC 5321 4.1.1.4: the end is found when fed one byte at a time', () => {
    const reader = new DataReader(LIMITS);
    const bytes = enc('Subject: x\r\n\r\n..dot\r\n.\r\nNOOP\r\n');
    let step: DataStep = { done: false };
    let i = 0;
    for (; i < bytes.length && !step.done; i++) step = reader.push(bytes.subarray(i, i + 1));
    assert.ok(step.done);
    assert.equal(dec(step.body), 'Subject: x\r\n\r\n.dot\r\n');
    assert.equal(dec(bytes.subarray(i)), 'NOOP\r\n');
  });

  test('RFC 1870: a body of exactly the limit is accepted', () => {
    const step = read('abcdefgh\r\n.\r\n', undefined, { maxBytes: 10, maxLine: 100 });
    assert.ok(step.done);
    assert.equal(step.problem, undefined);
    assert.equal(step.body.length, 10);
  });
});
