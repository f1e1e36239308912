/**
 * A SPDY/3.1 session over any byte Duplex (an upgraded HTTP socket, or a
 * WebSocket turned into a byte stream): streams as Node Duplexes, SYN/REPLY/
 * RST, PING echo, GOAWAY, SETTINGS and WINDOW_UPDATE bookkeeping.
 *
 * Flow control, as Kubernetes' peers need it: moby/spdystream (kubectl, the
 * kubelet) neither sends nor honours WINDOW_UPDATE, so holding data back
 * when the peer's window runs out would stall every transfer after 64 KiB.
 * We therefore track windows both ways, send WINDOW_UPDATEs as the consumer
 * reads (so a spec-following peer never stalls), and only hold our own data
 * back when `enforceSendWindow` is set. What actually protects memory on
 * the receiving side is backpressure: a stream whose reader lags pauses the
 * transport until it catches up.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import {
  DEFAULT_WINDOW,
  FrameDecoder,
  GOAWAY_STATUS,
  MAX_WINDOW,
  RST_STATUS,
  SETTING,
  SpdyProtocolError,
  encodeFrame,
  type Frame,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './headers.js';

export interface SpdyConnectionOptions {
  /** 'server' accepts odd stream ids and opens even ones; 'client' the reverse. */
  role: 'client' | 'server';
  /** Per-stream receive window we announce (a SETTINGS frame is sent when it is not 64 KiB). */
  initialWindow?: number;
  /** Hold data back while the peer's window is used up (see the module comment; default false). */
  enforceSendWindow?: boolean;
  /** Largest data frame payload we send (default 32 KiB). */
  maxDataFrame?: number;
  /** Bytes that arrived with the upgrade request, before the transport's own data. */
  initialData?: Buffer;
}

export class SpdyStreamResetError extends Error {
  constructor(
    readonly streamId: number,
    readonly status: number,
  ) {
    super(`SPDY stream ${streamId} was reset (status ${status})`);
    this.name = 'SpdyStreamResetError';
  }
}

/**
 * One SPDY stream. Writable side: data frames (end() sends FIN); readable
 * side: the peer's data (ends at its FIN). A stream the peer opened must be
 * answered with reply() or reject(). 'reply' and 'headers' events carry the
 * peer's SYN_REPLY and HEADERS of a stream we opened.
 */
export class SpdyStream extends Duplex {
  /** Status of the peer's RST_STREAM, when it reset the stream. */
  resetStatus?: number;
  /** @internal */ localFin = false;
  /** @internal */ remoteFin = false;
  /** @internal */ replied = false;
  /** @internal */ sendWindow: number;
  /** @internal */ recvWindow: number;
  /** @internal */ unacked = 0;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    /** The headers of the SYN_STREAM (ours or the peer's). */
    readonly headers: SpdyHeaders,
    /** Whether the peer opened it. */
    readonly remote: boolean,
    sendWindow: number,
    recvWindow: number,
  ) {
    super({ allowHalfOpen: true });
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Accepts a stream the peer opened (SYN_REPLY); fin closes our side at once. */
  reply(headers: SpdyHeaders = new Map(), fin = false): void {
    this.conn.sendReply(this, headers, fin);
  }

  /** Refuses or abandons the stream (RST_STREAM, default CANCEL as spdystream's Reset sends). */
  reset(status: number = RST_STATUS.CANCEL): void {
    this.conn.sendReset(this, status);
    this.destroy();
  }

  /** Resolves with the peer's SYN_REPLY headers (streams we opened); rejects if it resets the stream first. */
  waitReply(): Promise<SpdyHeaders> {
    return new Promise((resolve, reject) => {
      const onReply = (h: SpdyHeaders) => {
        this.off('close', onClose);
        resolve(h);
      };
      const onClose = () => {
        this.off('reply', onReply);
        reject(new SpdyStreamResetError(this.id, this.resetStatus ?? RST_STATUS.CANCEL));
      };
      this.once('reply', onReply);
      this.once('close', onClose);
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.conn.sendData(this, chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.conn.sendFin(this);
    cb();
  }

  override _read(): void {
    this.conn.resumeStream(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.conn.streamDestroyed(this);
    cb(err);
  }
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

/** A SPDY/3.1 session; 'stream' events bring streams the peer opens, 'close' fires once when it is over. */
export class SpdyConnection extends EventEmitter {
  readonly role: 'client' | 'server';
  /** Why the session ended, when it did not end cleanly. */
  error?: Error;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly decoder = new FrameDecoder();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly enforceSendWindow: boolean;
  private readonly maxDataFrame: number;
  private readonly initialRecvWindow: number;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  private sessionRecvWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private goingAway = false;
  private peerGoneAway = false;
  private dead = false;
  private readonly inbox: Frame[] = [];
  private processing = false;
  /** The transport is paused because frames wait in the inbox behind a header block being inflated. */
  private inboxWaiting = false;
  private readonly outQueue: (Buffer | Promise<Buffer>)[] = [];
  private pumping = false;
  private drainWaiters: ((err?: Error) => void)[] = [];
  private windowWaiters: (() => void)[] = [];
  private readonly blocked = new Set<SpdyStream>();
  private readonly pings = new Map<number, Waiter>();
  private closeWhenIdle = false;
  /** Resolves once the session is over. */
  readonly closed: Promise<void>;

  constructor(
    private readonly transport: Duplex,
    opts: SpdyConnectionOptions,
  ) {
    super();
    this.role = opts.role;
    this.enforceSendWindow = opts.enforceSendWindow ?? false;
    this.maxDataFrame = Math.max(1, Math.min(opts.maxDataFrame ?? 32 * 1024, 0xffffff));
    this.initialRecvWindow = opts.initialWindow ?? DEFAULT_WINDOW;
    this.nextStreamId = opts.role === 'client' ? 1 : 2;
    this.nextPingId = opts.role === 'client' ? 1 : 2;
    this.closed = new Promise((resolve) => this.once('close', () => resolve()));
    if (this.initialRecvWindow !== DEFAULT_WINDOW) {
      this.enqueue(encodeFrame({ type: 'settings', clear: false, entries: [{ id: SETTING.INITIAL_WINDOW_SIZE, flags: 0, value: this.initialRecvWindow }] }));
    }
    transport.on('data', (chunk: Buffer) => this.onBytes(chunk));
    transport.on('drain', () => this.releaseWriters());
    transport.on('error', (e: Error) => this.teardown(e));
    transport.once('end', () => this.teardown());
    transport.once('close', () => this.teardown());
    if (opts.initialData && opts.initialData.length > 0) this.onBytes(opts.initialData);
  }

  /** Streams open now (not yet closed both ways nor reset). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Whether the session is over. */
  get isClosed(): boolean {
    return this.dead;
  }

  /** Opens a stream (SYN_STREAM); wait for the peer's answer with stream.waitReply(). */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean; unidirectional?: boolean; priority?: number } = {}): SpdyStream {
    if (this.dead || this.goingAway || this.peerGoneAway) throw new Error('the SPDY session is closing');
    const id = this.nextStreamId;
    if (id > 0x7fffffff) throw new Error('SPDY stream ids are exhausted');
    this.nextStreamId += 2;
    const s = new SpdyStream(this, id, headers, false, this.peerInitialWindow, this.initialRecvWindow);
    this.streams.set(id, s);
    if (opts.fin) {
      s.localFin = true;
      s.end();
    }
    if (opts.unidirectional) {
      s.remoteFin = true;
      s.push(null);
    }
    const fin = opts.fin ?? false;
    const unidirectional = opts.unidirectional ?? false;
    const priority = opts.priority ?? 0;
    this.enqueue(
      this.compressor.compress(headers).then((headerBlock) =>
        encodeFrame({ type: 'syn_stream', streamId: id, associatedTo: 0, priority, slot: 0, fin, unidirectional, headerBlock }),
      ),
    );
    this.maybeForget(s);
    return s;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    if (this.dead) return Promise.reject(new Error('the SPDY session is closed'));
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 2) >>> 0;
    return new Promise<void>((resolve, reject) => {
      this.pings.set(id, { resolve, reject });
      this.enqueue(encodeFrame({ type: 'ping', id }));
    });
  }

  /** Sends GOAWAY: no new streams from the peer are accepted; open ones carry on. */
  goAway(status: number = GOAWAY_STATUS.OK): void {
    if (this.dead || this.goingAway) return;
    this.goingAway = true;
    this.enqueue(encodeFrame({ type: 'goaway', lastGoodStreamId: this.lastPeerStreamId, status }));
  }

  /** GOAWAY, then ends the transport once every open stream is done. */
  close(): void {
    this.goAway();
    this.closeWhenIdle = true;
    this.maybeFinish();
  }

  /** Ends the session at once: open streams are destroyed, the transport too. */
  destroy(err?: Error): void {
    this.teardown(err);
  }

  // --- outbound ---

  private enqueue(item: Buffer | Promise<Buffer>): void {
    if (this.dead) return;
    this.outQueue.push(item);
    if (!this.pumping) void this.pump();
  }

  /** Writes queued frames in order; a header frame waits for its compression, which keeps wire order. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.outQueue.length > 0 && !this.dead) {
        const head = this.outQueue[0];
        const buf = Buffer.isBuffer(head) ? head : await head;
        this.outQueue.shift();
        if (!this.dead) this.transport.write(buf);
      }
    } catch (e) {
      this.teardown(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.pumping = false;
    }
    this.releaseWriters();
    this.maybeFinish();
  }

  private releaseWriters(): void {
    if (this.pumping || this.transport.writableNeedDrain) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** @internal Queues chunk as data frames; cb once the transport can take more. */
  sendData(s: SpdyStream, chunk: Buffer, cb: (err?: Error | null) => void): void {
    let off = 0;
    const step = (): void => {
      if (this.dead) return cb(new Error('the SPDY session is closed'));
      if (s.resetStatus !== undefined) return cb(new SpdyStreamResetError(s.id, s.resetStatus));
      while (off < chunk.length) {
        let n = Math.min(this.maxDataFrame, chunk.length - off);
        if (this.enforceSendWindow) {
          const w = Math.min(s.sendWindow, this.sessionSendWindow);
          if (w <= 0) {
            this.windowWaiters.push(step);
            return;
          }
          n = Math.min(n, w);
        }
        s.sendWindow -= n;
        this.sessionSendWindow -= n;
        this.enqueue(encodeFrame({ type: 'data', streamId: s.id, fin: false, data: chunk.subarray(off, off + n) }));
        off += n;
      }
      if (!this.pumping && !this.transport.writableNeedDrain) cb();
      else this.drainWaiters.push((err) => cb(err ?? null));
    };
    step();
  }

  /** @internal */
  sendFin(s: SpdyStream): void {
    if (s.localFin || s.resetStatus !== undefined) return;
    s.localFin = true;
    this.enqueue(encodeFrame({ type: 'data', streamId: s.id, fin: true, data: Buffer.alloc(0) }));
    this.maybeForget(s);
  }

  /** @internal */
  sendReply(s: SpdyStream, headers: SpdyHeaders, fin: boolean): void {
    if (!s.remote || s.replied || s.resetStatus !== undefined) throw new Error(`stream ${s.id} cannot be replied to`);
    s.replied = true;
    if (fin) s.localFin = true;
    this.enqueue(this.compressor.compress(headers).then((headerBlock) => encodeFrame({ type: 'syn_reply', streamId: s.id, fin, headerBlock })));
    if (fin) s.end();
    this.maybeForget(s);
  }

  /** @internal */
  sendReset(s: SpdyStream, status: number): void {
    if (s.resetStatus !== undefined || !this.streams.has(s.id)) return;
    s.resetStatus = status;
    this.enqueue(encodeFrame({ type: 'rst_stream', streamId: s.id, status }));
    this.forget(s);
  }

  /** @internal The stream's reader wants more: acknowledge what it consumed and unpause the transport. */
  resumeStream(s: SpdyStream): void {
    this.ack(s);
    if (this.blocked.delete(s)) this.resumeTransport();
  }

  /** @internal A destroyed stream that was not finished both ways is abandoned: tell the peer. */
  streamDestroyed(s: SpdyStream): void {
    if (this.streams.get(s.id) === s && !(s.localFin && s.remoteFin)) this.sendReset(s, RST_STATUS.CANCEL);
    this.forget(s);
  }

  /** WINDOW_UPDATEs for data a reader consumed, once half a window has built up. */
  private ack(s: SpdyStream): void {
    if (this.dead) return;
    if (s.unacked >= this.initialRecvWindow / 2 && s.resetStatus === undefined && !s.remoteFin) {
      this.enqueue(encodeFrame({ type: 'window_update', streamId: s.id, delta: s.unacked }));
      s.recvWindow += s.unacked;
      s.unacked = 0;
    }
    if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
      this.enqueue(encodeFrame({ type: 'window_update', streamId: 0, delta: this.sessionUnacked }));
      this.sessionRecvWindow += this.sessionUnacked;
      this.sessionUnacked = 0;
    }
  }

  private maybeForget(s: SpdyStream): void {
    if (s.localFin && s.remoteFin) this.forget(s);
  }

  private forget(s: SpdyStream): void {
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    if (this.blocked.delete(s)) this.resumeTransport();
    this.maybeFinish();
  }

  private maybeFinish(): void {
    const idle = this.streams.size === 0 && this.outQueue.length === 0 && !this.pumping;
    if (!this.dead && idle && (this.closeWhenIdle || (this.peerGoneAway && this.streams.size === 0))) {
      this.transport.end();
      this.teardown();
    }
  }

  // --- inbound ---

  private onBytes(chunk: Buffer): void {
    if (this.dead) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.protocolError(e);
      return;
    }
    if (frames.length === 0) return;
    this.inbox.push(...frames);
    if (!this.processing) {
      void this.processInbox();
    } else if (!this.inboxWaiting) {
      // A header block is being inflated (the only await): stop reading until the frames behind it are handled,
      // or a fast sender (spdystream ignores windows) fills the inbox before any stream can push back.
      this.inboxWaiting = true;
      this.transport.pause();
    }
  }

  /** Reads the transport again unless a lagging stream or a waiting inbox still holds it. */
  private resumeTransport(): void {
    if (!this.dead && this.blocked.size === 0 && !this.inboxWaiting) this.transport.resume();
  }

  /** Handles frames one at a time, in order; only header blocks make it wait (their inflation is async). */
  private async processInbox(): Promise<void> {
    this.processing = true;
    try {
      while (this.inbox.length > 0 && !this.dead) {
        const f = this.inbox.shift();
        if (f) await this.handle(f);
      }
    } catch (e) {
      this.protocolError(e);
    } finally {
      this.processing = false;
      if (this.inboxWaiting) {
        this.inboxWaiting = false;
        this.resumeTransport();
      }
    }
  }

  private protocolError(e: unknown): void {
    if (this.dead) return;
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof SpdyProtocolError) {
      // Say why before going: a GOAWAY with PROTOCOL_ERROR, then end the transport after it.
      this.goingAway = true;
      this.transport.write(encodeFrame({ type: 'goaway', lastGoodStreamId: this.lastPeerStreamId, status: GOAWAY_STATUS.PROTOCOL_ERROR }));
      this.transport.end();
    }
    this.teardown(err);
  }

  private isPeerId(id: number): boolean {
    return this.role === 'server' ? id % 2 === 1 : id % 2 === 0;
  }

  private async handle(f: Frame): Promise<void> {
    switch (f.type) {
      case 'syn_stream': {
        // Always inflate, even for a stream we refuse: the zlib context must stay in step.
        const headers = await this.decompressor.decompress(f.headerBlock);
        if (this.dead) return;
        const rst = (status: number) => this.enqueue(encodeFrame({ type: 'rst_stream', streamId: f.streamId, status }));
        if (f.streamId === 0 || !this.isPeerId(f.streamId) || f.streamId <= this.lastPeerStreamId) {
          rst(this.streams.has(f.streamId) ? RST_STATUS.STREAM_IN_USE : RST_STATUS.PROTOCOL_ERROR);
          return;
        }
        this.lastPeerStreamId = f.streamId;
        if (this.goingAway || this.listenerCount('stream') === 0) {
          rst(RST_STATUS.REFUSED_STREAM);
          return;
        }
        const s = new SpdyStream(this, f.streamId, headers, true, this.peerInitialWindow, this.initialRecvWindow);
        this.streams.set(s.id, s);
        if (f.unidirectional) {
          s.localFin = true;
          s.end();
        }
        if (f.fin) {
          s.remoteFin = true;
          s.push(null);
        }
        this.emit('stream', s);
        this.maybeForget(s);
        return;
      }
      case 'syn_reply':
      case 'headers': {
        const headers = await this.decompressor.decompress(f.headerBlock);
        const s = this.streams.get(f.streamId);
        if (!s || this.dead) return;
        if (f.type === 'syn_reply') {
          if (s.remote || s.replied) {
            this.sendReset(s, RST_STATUS.STREAM_IN_USE);
            s.destroy();
            return;
          }
          s.replied = true;
          s.emit('reply', headers);
        } else {
          s.emit('headers', headers);
        }
        if (f.fin) this.remoteFinished(s);
        return;
      }
      case 'data':
        this.onData(f.streamId, f.data, f.fin);
        return;
      case 'rst_stream': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.resetStatus = f.status;
        this.forget(s);
        s.destroy();
        return;
      }
      case 'settings':
        for (const e of f.entries) {
          if (e.id !== SETTING.INITIAL_WINDOW_SIZE) continue;
          // The new initial window applies to every open stream, by its difference.
          const delta = e.value - this.peerInitialWindow;
          this.peerInitialWindow = e.value;
          for (const s of this.streams.values()) s.sendWindow += delta;
        }
        this.wakeWindowWaiters();
        return;
      case 'ping':
        if (this.isPeerId(f.id)) {
          this.enqueue(encodeFrame({ type: 'ping', id: f.id }));
        } else {
          const w = this.pings.get(f.id);
          this.pings.delete(f.id);
          w?.resolve();
        }
        return;
      case 'goaway':
        this.peerGoneAway = true;
        // Streams we opened past its last good one were never seen by the peer.
        for (const s of [...this.streams.values()]) {
          if (!s.remote && s.id > f.lastGoodStreamId) {
            s.resetStatus = RST_STATUS.REFUSED_STREAM;
            this.forget(s);
            s.destroy();
          }
        }
        this.maybeFinish();
        return;
      case 'window_update': {
        if (f.streamId === 0) {
          this.sessionSendWindow = Math.min(MAX_WINDOW, this.sessionSendWindow + f.delta);
        } else {
          const s = this.streams.get(f.streamId);
          if (!s) return;
          if (s.sendWindow + f.delta > MAX_WINDOW) {
            this.sendReset(s, RST_STATUS.FLOW_CONTROL_ERROR);
            s.destroy();
            return;
          }
          s.sendWindow += f.delta;
        }
        this.wakeWindowWaiters();
        return;
      }
      case 'unknown':
        return;
    }
  }

  private onData(streamId: number, data: Buffer, fin: boolean): void {
    this.sessionRecvWindow -= data.length;
    this.sessionUnacked += data.length;
    const s = this.streams.get(streamId);
    if (!s || s.remoteFin) {
      // A stream already gone (reset, or finished): its data is dropped, the session window still refilled.
      if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
        this.enqueue(encodeFrame({ type: 'window_update', streamId: 0, delta: this.sessionUnacked }));
        this.sessionRecvWindow += this.sessionUnacked;
        this.sessionUnacked = 0;
      }
      return;
    }
    if (data.length > 0) {
      s.recvWindow -= data.length;
      s.unacked += data.length;
      if (s.push(data)) this.ack(s);
      else if (!this.blocked.has(s)) {
        // The reader lags: stop reading the transport (spdystream peers ignore windows) until it catches up.
        this.blocked.add(s);
        this.transport.pause();
      }
    }
    if (fin) this.remoteFinished(s);
  }

  private remoteFinished(s: SpdyStream): void {
    if (s.remoteFin) return;
    s.remoteFin = true;
    s.push(null);
    // An ended stream never calls _read again, so it would never unpause the
    // transport; nothing more can arrive for it, so it need not hold it paused.
    if (this.blocked.delete(s)) this.resumeTransport();
    this.maybeForget(s);
  }

  private wakeWindowWaiters(): void {
    for (const w of this.windowWaiters.splice(0)) w();
  }

  private teardown(err?: Error): void {
    if (this.dead) return;
    this.dead = true;
    if (err) this.error = err;
    for (const s of [...this.streams.values()]) {
      this.streams.delete(s.id);
      s.destroy();
    }
    const closedErr = err ?? new Error('the SPDY session is closed');
    for (const w of this.drainWaiters.splice(0)) w(closedErr);
    for (const w of this.windowWaiters.splice(0)) w();
    for (const p of this.pings.values()) p.reject(closedErr);
    this.pings.clear();
    this.outQueue.length = 0;
    this.inbox.length = 0;
    this.compressor.close();
    this.decompressor.close();
    if (!this.transport.destroyed) {
      // Ended on purpose (GOAWAY sent): let the last frames out first.
      if (this.transport.writableEnded && !this.transport.writableFinished) this.transport.once('finish', () => this.transport.destroy());
      else this.transport.destroy();
    }
    this.emit('close');
  }
}
