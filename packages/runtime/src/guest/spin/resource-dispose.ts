/** What jco's glue calls on a host resource when the guest drops its handle. */
export const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
