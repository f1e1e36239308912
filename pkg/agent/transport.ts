/**
 * A transport that carries the node credential and, when the server
 * answers 401 (the credential was revoked, or the server lost it), gets a
 * new one and retries the request once.
 */
import type { Transport, TransportRequestOptions, TransportResponse } from '../client/transport.js';

/** Options of credentialTransport. */
export interface CredentialTransportOptions {
  /** Builds a transport that sends this credential. */
  make: (credential: string) => Transport;
  /** The credential to start with. */
  credential: string;
  /** Gets a fresh credential (a new join); its error is what the failed request rejects with. */
  renew: () => Promise<string>;
}

/** A Transport whose credential renews itself on 401. */
export function credentialTransport(o: CredentialTransportOptions): Transport {
  let inner = o.make(o.credential);
  let renewing: Promise<Transport> | undefined;
  let closed = false;

  const renew = (stale: Transport): Promise<Transport> => {
    // Someone already swapped it since this request went out: just use the new one.
    if (inner !== stale) return Promise.resolve(inner);
    renewing ??= (async () => {
      try {
        const next = o.make(await o.renew());
        inner = next;
        // In-flight streams on the old one were sent with a rejected credential anyway.
        stale.close().catch(() => undefined);
        return next;
      } finally {
        renewing = undefined;
      }
    })();
    return renewing;
  };

  return {
    async request(method: string, path: string, opts?: TransportRequestOptions): Promise<TransportResponse> {
      const used = inner;
      const res = await used.request(method, path, opts);
      if (res.status !== 401 || closed) return res;
      await res.discard();
      const next = await renew(used);
      return next.request(method, path, opts);
    },
    async close() {
      closed = true;
      await inner.close();
    },
  };
}
