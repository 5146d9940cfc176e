// Unit tests of the wire layer: replies are built with dns-packet itself, so each test states the bytes a
// resolver would send and checks the typed facts we read from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import {
  decodeReply,
  decodeText,
  encodeQuery,
  EDNS_UDP_SIZE,
  negativeTtl,
  readAnswer,
  replyMatches,
} from './packet.js';
import type { QueryMessage, Reply } from './packet.js';

const QUERY: QueryMessage = { id: 4242, name: 'Example.COM.', type: 'MX', checkingDisabled: false };

function reply(options: {
  rcode?: number;
  flags?: number;
  id?: number;
  qname?: string;
  qtype?: 'MX' | 'A' | 'TXT' | 'TLSA';
  answers?: Answer[];
  authorities?: Answer[];
}): Reply {
  const bytes = dnsPacket.encode({
    type: 'response',
    id: options.id ?? 4242,
    flags: (options.rcode ?? 0) | (options.flags ?? 0),
    questions: [{ name: options.qname ?? 'example.com', type: options.qtype ?? 'MX' }],
    answers: options.answers ?? [],
    authorities: options.authorities ?? [],
  });
  const decoded = decodeReply(bytes);
  assert.ok(decoded);
  return decoded;
}

test('RFC 6891 6.1.2 / RFC 3225: queries carry OPT with UDP size 1232 and the DO bit, RD set, CD off', () => {
  const packet = dnsPacket.decode(encodeQuery(QUERY));
  assert.equal(packet.id, 4242);
  assert.equal(packet.flag_rd, true);
  assert.equal(packet.flag_cd, false);
  assert.deepEqual(
    packet.questions?.map((q) => [q.name, q.type]),
    [['example.com', 'MX']],
  );
  const opt = packet.additionals?.find((a) => a.type === 'OPT');
  assert.ok(opt && opt.type === 'OPT');
  assert.equal(opt.udpPayloadSize, EDNS_UDP_SIZE);
  assert.equal(opt.flag_do, true);
});

test('RFC 4035 3.2.2: a query with checking disabled sets the CD bit', () => {
  assert.equal(dnsPacket.decode(encodeQuery({ ...QUERY, checkingDisabled: true })).flag_cd, true);
});

test('RFC 1035 4.1.1: rcodes, TC and AD are read from the header', () => {
  assert.equal(reply({ rcode: 2 }).rcode, 'SERVFAIL');
  assert.equal(reply({ rcode: 3 }).rcode, 'NXDOMAIN');
  assert.equal(reply({ rcode: 5 }).rcode, 'REFUSED');
  assert.equal(reply({ rcode: 9 }).rcode, 'OTHER');
  assert.equal(reply({ flags: dnsPacket.TRUNCATED_RESPONSE }).truncated, true);
  assert.equal(reply({ flags: dnsPacket.AUTHENTIC_DATA }).authenticData, true);
  assert.equal(reply({}).authenticData, false);
});

test('decoding: garbage and queries are not replies', () => {
  assert.equal(decodeReply(Buffer.from([1, 2, 3])), undefined);
  assert.equal(decodeReply(encodeQuery(QUERY)), undefined);
});

test('RFC 5452 4.3: a reply matches only with the same id, name (any case) and type', () => {
  assert.equal(replyMatches(reply({ qname: 'EXAMPLE.com' }), QUERY), true);
  assert.equal(replyMatches(reply({ id: 4243 }), QUERY), false);
  assert.equal(replyMatches(reply({ qname: 'example.net' }), QUERY), false);
  assert.equal(replyMatches(reply({ qtype: 'A' }), QUERY), false);
});

test('RFC 7505 3: MX exchanges are lower-cased without trailing dot, the null MX "." becomes ""', () => {
  const facts = readAnswer(
    reply({
      answers: [
        {
          type: 'MX',
          name: 'example.com',
          ttl: 600,
          data: { preference: 10, exchange: 'MX1.Example.COM' },
        },
        { type: 'MX', name: 'example.com', ttl: 300, data: { preference: 0, exchange: '.' } },
      ],
    }),
    'example.com',
    'MX',
  );
  assert.deepEqual(facts.records, [
    { preference: 10, exchange: 'mx1.example.com' },
    { preference: 0, exchange: '' },
  ]);
  assert.equal(facts.ttl, 300);
  assert.deepEqual(facts.chain, []);
});

test('RFC 1034 3.6.2: CNAMEs in the answer are followed and their TTL counts', () => {
  const facts = readAnswer(
    reply({
      qtype: 'A',
      qname: 'www.example.com',
      answers: [
        { type: 'CNAME', name: 'www.example.com', ttl: 60, data: 'Web.example.net' },
        { type: 'CNAME', name: 'web.example.net', ttl: 900, data: 'host.example.org' },
        { type: 'A', name: 'host.example.org', ttl: 120, data: '192.0.2.1' },
        { type: 'A', name: 'unrelated.example.org', ttl: 120, data: '192.0.2.99' },
      ],
    }),
    'www.example.com',
    'A',
  );
  assert.deepEqual(facts.chain, [
    'www.example.com -> web.example.net',
    'web.example.net -> host.example.org',
  ]);
  assert.equal(facts.canonicalName, 'host.example.org');
  assert.deepEqual(facts.records, ['192.0.2.1']);
  assert.equal(facts.ttl, 60);
  assert.equal(facts.loop, false);
});

test('RFC 1034 3.6.2: a CNAME loop inside one answer is detected', () => {
  const facts = readAnswer(
    reply({
      qtype: 'A',
      qname: 'a.example',
      answers: [
        { type: 'CNAME', name: 'a.example', ttl: 60, data: 'b.example' },
        { type: 'CNAME', name: 'b.example', ttl: 60, data: 'a.example' },
      ],
    }),
    'a.example',
    'A',
  );
  assert.equal(facts.loop, true);
  assert.deepEqual(facts.records, []);
});

test('RFC 7208 3.3: the character-strings of one TXT record are concatenated', () => {
  const facts = readAnswer(
    reply({
      qtype: 'TXT',
      answers: [
        { type: 'TXT', name: 'example.com', ttl: 60, data: ['v=STSv1; ', 'id=2024'] },
        { type: 'TXT', name: 'example.com', ttl: 60, data: 'other' },
      ],
    }),
    'example.com',
    'TXT',
  );
  assert.deepEqual(facts.records, ['v=STSv1; id=2024', 'other']);
});

test('TXT bytes that are not UTF-8 decode as latin1 instead of being replaced', () => {
  assert.equal(decodeText([Buffer.from([0x63, 0x61, 0x66, 0xe9])]), 'café');
  assert.equal(decodeText([Buffer.from('caf\u00e9', 'utf8')]), 'café');
});

test('RFC 6698 2.1: TLSA usage, selector, matching type and data are decoded', () => {
  const data = Buffer.from(
    '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
    'hex',
  );
  const facts = readAnswer(
    reply({
      qtype: 'TLSA',
      qname: '_25._tcp.mx.example.com',
      answers: [
        {
          type: 'TLSA',
          name: '_25._tcp.mx.example.com',
          ttl: 3600,
          data: { usage: 3, selector: 1, matchingType: 1, certificate: data },
        },
      ],
    }),
    '_25._tcp.mx.example.com',
    'TLSA',
  );
  assert.equal(facts.records.length, 1);
  const tlsa = facts.records[0]!;
  assert.deepEqual([tlsa.usage, tlsa.selector, tlsa.matchingType], [3, 1, 1]);
  assert.deepEqual(Buffer.from(tlsa.data), data);
});

const soa = (ttl: number, minimum: number): Answer => ({
  type: 'SOA',
  name: 'example.com',
  ttl,
  data: {
    mname: 'ns.example.com',
    rname: 'host.example.com',
    serial: 1,
    refresh: 1,
    retry: 1,
    expire: 1,
    minimum,
  },
});

test('RFC 2308 5: the negative TTL is the smaller of the SOA TTL and its MINIMUM', () => {
  assert.equal(negativeTtl(reply({ rcode: 3, authorities: [soa(900, 300)] })), 300);
  assert.equal(negativeTtl(reply({ rcode: 3, authorities: [soa(120, 300)] })), 120);
});

test('RFC 2308 5: negative TTLs are capped at one hour, and 0 without an SOA', () => {
  assert.equal(negativeTtl(reply({ authorities: [soa(86400, 86400)] })), 3600);
  assert.equal(negativeTtl(reply({})), 0);
});
