import t from 'tap';
import { FrameDecoder, SpdyProtocolError, encodeFrame, type Frame } from '../../../pkg/apiserver/spdy/frames.js';

const frames: Frame[] = [
  { type: 'data', streamId: 1, fin: false, data: Buffer.from('hello') },
  { type: 'data', streamId: 0x7fffffff, fin: true, data: Buffer.alloc(0) },
  { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 7, slot: 0, fin: false, unidirectional: true, headerBlock: Buffer.from([1, 2, 3]) },
  { type: 'syn_stream', streamId: 5, associatedTo: 1, priority: 0, slot: 4, fin: true, unidirectional: false, headerBlock: Buffer.alloc(0) },
  { type: 'syn_reply', streamId: 3, fin: true, headerBlock: Buffer.from([9]) },
  { type: 'headers', streamId: 7, fin: false, headerBlock: Buffer.from([8, 7]) },
  { type: 'rst_stream', streamId: 9, status: 5 },
  { type: 'settings', clear: true, entries: [{ id: 7, flags: 1, value: 1 << 20 }, { id: 4, flags: 0, value: 100 }] },
  { type: 'settings', clear: false, entries: [] },
  { type: 'ping', id: 0xffffffff },
  { type: 'goaway', lastGoodStreamId: 11, status: 2 },
  { type: 'window_update', streamId: 0, delta: 0x7fffffff },
  { type: 'window_update', streamId: 13, delta: 1 },
  { type: 'unknown', frameType: 10, flags: 0, payload: Buffer.from('credential') },
];

t.test('every frame type round-trips', async (t) => {
  for (const f of frames) t.same(new FrameDecoder().push(encodeFrame(f)), [f], f.type);
});

t.test('wire layout matches the spec', async (t) => {
  // Control: C=1, version 3, type; flags; 24-bit length.
  t.equal(encodeFrame({ type: 'ping', id: 1 }).toString('hex'), '80030006' + '00000004' + '00000001');
  t.equal(encodeFrame({ type: 'rst_stream', streamId: 3, status: 5 }).toString('hex'), '80030003' + '00000008' + '00000003' + '00000005');
  t.equal(encodeFrame({ type: 'window_update', streamId: 1, delta: 0x10000 }).toString('hex'), '80030009' + '00000008' + '00000001' + '00010000');
  // Data: C=0, stream id; flags (FIN=1); length.
  t.equal(encodeFrame({ type: 'data', streamId: 1, fin: true, data: Buffer.from('abc') }).toString('hex'), '00000001' + '01000003' + '616263');
  // SYN_STREAM: FIN|UNIDIRECTIONAL flags, stream, associated, priority in the top 3 bits, slot.
  const syn = encodeFrame({ type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 3, slot: 0, fin: true, unidirectional: true, headerBlock: Buffer.alloc(0) });
  t.equal(syn.toString('hex'), '80030001' + '0300000a' + '00000001' + '00000000' + '60' + '00');
});

t.test('a frame split across chunks, and several frames in one chunk', async (t) => {
  const all = Buffer.concat(frames.map(encodeFrame));
  const byteByByte = new FrameDecoder();
  const got: Frame[] = [];
  for (let i = 0; i < all.length; i++) got.push(...byteByByte.push(all.subarray(i, i + 1)));
  t.same(got, frames, 'one byte at a time');
  t.equal(byteByByte.pending, 0);
  t.same(new FrameDecoder().push(all), frames, 'all in one chunk');

  // Odd split points: a chunk ending mid-header, another mid-payload.
  const d = new FrameDecoder();
  t.same(d.push(all.subarray(0, 5)), []);
  t.equal(d.pending, 5);
  const first = encodeFrame(frames[0]).length;
  t.same(d.push(all.subarray(5, first + 3)), [frames[0]]);
  t.same(d.push(all.subarray(first + 3)), frames.slice(1));
});

t.test('malformed input is a protocol error', async (t) => {
  const cases: { name: string; bytes: Buffer }[] = [
    { name: 'SPDY/2 control frame', bytes: Buffer.from('80020006000000040000000a', 'hex') },
    { name: 'short RST_STREAM', bytes: Buffer.from('800300030000000400000001', 'hex') },
    { name: 'short PING', bytes: Buffer.from('8003000600000002abcd', 'hex') },
    { name: 'SETTINGS count beyond its length', bytes: Buffer.from('80030004000000040000000a', 'hex') },
    { name: 'short SYN_STREAM', bytes: Buffer.from('80030001000000040000000a', 'hex') },
  ];
  for (const c of cases) t.throws(() => new FrameDecoder().push(c.bytes), SpdyProtocolError, c.name);
  t.throws(() => new FrameDecoder(16).push(encodeFrame({ type: 'data', streamId: 1, fin: false, data: Buffer.alloc(17) })), SpdyProtocolError, 'over the size limit');
});

t.test('encoding refuses what the wire cannot carry', async (t) => {
  t.throws(() => encodeFrame({ type: 'data', streamId: 0, fin: false, data: Buffer.alloc(0) }), RangeError);
  t.throws(() => encodeFrame({ type: 'window_update', streamId: 1, delta: 0 }), RangeError);
  t.throws(() => encodeFrame({ type: 'rst_stream', streamId: 2 ** 31, status: 1 }), RangeError);
});
