import t from 'tap';
import { createHash } from 'node:crypto';
import { inflateSync, constants as zc } from 'node:zlib';
import {
  HeaderCompressor,
  HeaderDecompressor,
  SPDY3_DICTIONARY,
  decodeHeaderBlock,
  encodeHeaderBlock,
  headerValue,
  spdyHeaders,
} from '../../../pkg/apiserver/spdy/headers.js';
import { SpdyProtocolError } from '../../../pkg/apiserver/spdy/frames.js';

t.test('the SPDY/3 dictionary is the spec one, byte for byte', async (t) => {
  t.equal(SPDY3_DICTIONARY.length, 1423);
  // sha256 of the dictionary as golang.org/x/net/spdy (and moby/spdystream) ship it.
  t.equal(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
});

t.test('name/value blocks', async (t) => {
  const h = spdyHeaders({ StreamType: 'data', port: '8080', requestID: '0', multi: ['a', 'b'] });
  const block = encodeHeaderBlock(h);
  const back = decodeHeaderBlock(block);
  t.same([...back.keys()], ['streamtype', 'port', 'requestid', 'multi'], 'names travel in lower case');
  t.same(back.get('multi'), ['a', 'b'], 'several values are NUL-separated');
  t.equal(headerValue(back, 'streamType'), 'data', 'lookup ignores case');
  t.equal(headerValue(back, 'absent'), undefined);
  t.equal(block.readUInt32BE(0), 4, 'the block starts with the count');

  const raw = (pairs: [string, string][], extra = Buffer.alloc(0)) => {
    const parts = [Buffer.alloc(4)];
    parts[0].writeUInt32BE(pairs.length);
    for (const [n, v] of pairs) {
      for (const s of [n, v]) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(Buffer.byteLength(s));
        parts.push(len, Buffer.from(s));
      }
    }
    return Buffer.concat([...parts, extra]);
  };
  const bad: { name: string; block: Buffer }[] = [
    { name: 'upper-case name', block: raw([['Port', '1']]) },
    { name: 'duplicate name', block: raw([['port', '1'], ['port', '2']]) },
    { name: 'empty name', block: raw([['', '1']]) },
    { name: 'truncated', block: raw([['port', '1']]).subarray(0, 10) },
    { name: 'stray bytes', block: raw([['port', '1']], Buffer.from([0])) },
  ];
  for (const c of bad) t.throws(() => decodeHeaderBlock(c.block), SpdyProtocolError, c.name);
});

t.test('compression shares one zlib context per direction', async (t) => {
  const c = new HeaderCompressor();
  const d = new HeaderDecompressor();
  t.teardown(() => {
    c.close();
    d.close();
  });
  const blocks = [
    spdyHeaders({ streamtype: 'error', port: '80', requestid: '0' }),
    spdyHeaders({ streamtype: 'data', port: '80', requestid: '0' }),
    spdyHeaders({ streamtype: 'error', port: '80', requestid: '0' }),
    new Map<string, string[]>(),
  ];
  // Called without waiting: the results still come in call order.
  const compressed = await Promise.all(blocks.map((b) => c.compress(b)));
  t.ok(compressed[2].length < compressed[0].length, 'a repeated block refers back to the first: smaller');
  t.same(compressed[0].subarray(compressed[0].length - 4), Buffer.from([0, 0, 0xff, 0xff]), 'each block ends at a sync flush');

  const back = await Promise.all(compressed.map((b) => d.decompress(b)));
  t.same(back, blocks, 'decompressed in order with one context');

  // The first block on its own is a zlib stream that names the dictionary.
  t.same(decodeHeaderBlock(inflateSync(compressed[0], { dictionary: SPDY3_DICTIONARY, finishFlush: zc.Z_SYNC_FLUSH })), blocks[0]);

  const fresh = new HeaderDecompressor();
  t.teardown(() => fresh.close());
  await t.rejects(fresh.decompress(compressed[2]), SpdyProtocolError, 'a later block cannot be read without the earlier ones');
  t.same(await fresh.decompress(Buffer.alloc(0)), new Map(), 'an empty block is no headers');
});
