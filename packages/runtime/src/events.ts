/**
 * The runtime's events: every `node:diagnostics_channel` channel it publishes on, in one place.
 * Publishing costs nothing while a channel has no subscriber. Every message carries `app`, the
 * app object its `runApp`/`prepareApp` (or executor, trigger, capabilities) was given: a process
 * running several apps, or two versions of one during a switch, tells them apart by identity.
 *
 * Counts that happen inside worker threads (instances made, key-value operations) are not
 * events (a channel does not cross threads): read them with `PreparedApp.stats()`.
 * Guest stdout/stderr is not an event either: each executor hands it to its own `onGuestOutput`.
 */
import { channel } from 'node:diagnostics_channel';

/** `{ app, componentId, error }`: a request failed inside the runtime (Spin logs `Error processing request`); the client got a 500 or a cut response. */
export interface RequestErrorEvent {
  app: object;
  componentId: string;
  error: unknown;
}

/** `{ app, path }`: a request matched no route. */
export interface NotFoundEvent {
  app: object;
  path: string;
}

/** `{ app, componentId, code, message }`: a guest fault — `RUNTIME_GUEST_TRAP`, `RUNTIME_TIMEOUT`, `RUNTIME_NO_RESPONSE` or `RUNTIME_WORKER_FAILED` — of any request, chained ones included. */
export interface GuestErrorEvent {
  app: object;
  componentId: string;
  code: string;
  message: string;
}

/** `{ app, componentId, destination, hint }`: an outbound request or connection refused by `allowed_outbound_hosts` (`hint` is Spin's text naming the entry to add). */
export interface OutboundDeniedEvent {
  app: object | undefined;
  componentId: string;
  destination: string;
  hint: string;
}

/** `{ app, componentId, destination }`: an outbound HTTP request (or a database/broker connection) the policy let through; `destination` is `scheme://host[:port]`, never with userinfo. */
export interface OutboundAllowedEvent {
  app: object | undefined;
  componentId: string;
  destination: string;
}

/** The channels' names. */
export const RUNTIME_CHANNELS = {
  requestError: 'spinel:runtime:http:request-error',
  notFound: 'spinel:runtime:http:not-found',
  guestError: 'spinel:runtime:guest-error',
  outboundDenied: 'spinel:runtime:outbound-denied',
  outboundAllowed: 'spinel:runtime:outbound-allowed',
} as const;

/** Publishes {@link RequestErrorEvent}. */
export const requestErrorChannel = channel(RUNTIME_CHANNELS.requestError);
/** Publishes {@link NotFoundEvent}. */
export const notFoundChannel = channel(RUNTIME_CHANNELS.notFound);
/** Publishes {@link GuestErrorEvent}. */
export const guestErrorChannel = channel(RUNTIME_CHANNELS.guestError);
/** Publishes {@link OutboundDeniedEvent}. */
export const outboundDeniedChannel = channel(RUNTIME_CHANNELS.outboundDenied);
/** Publishes {@link OutboundAllowedEvent}. */
export const outboundAllowedChannel = channel(RUNTIME_CHANNELS.outboundAllowed);
