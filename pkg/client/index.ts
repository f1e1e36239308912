/** The client package: transports, typed client, errors, events, informers, work queue. */
export * from './transport.js';
export * from './errors.js';
export * from './client.js';
export * from './events.js';
export * from './informer.js';
export * from './workqueue.js';
