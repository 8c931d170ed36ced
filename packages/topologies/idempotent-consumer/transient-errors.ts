/**
 * Which PostgreSQL failures are worth another attempt: the server or the connection went away,
 * the server is starting or shutting down, or the transaction lost a serialization or deadlock
 * race. Such a failure rolled the transaction back, so trying the event again is safe; any other
 * failure is the handler's or the data's, and another attempt would fail the same way.
 */

/** SQLSTATE codes of failures that end the transaction without saying anything about the event. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57014', // query_canceled: statement_timeout, or another session cancelled us
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
]);

/** Socket-level failures of the connection to the server. */
const TRANSIENT_SYSCALL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** node-postgres reports a lost connection by message, without a code. */
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
];

/** Raised when no connection could be had before an event's deadline. */
export class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError';
}

export function isTransientPostgresError(error: unknown): boolean {
  if (error instanceof ConnectTimeoutError) return true;
  if (error instanceof AggregateError) return error.errors.some(isTransientPostgresError);
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Class 08: connection exception.
    if (code.startsWith('08') || TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SYSCALL_CODES.has(code))
      return true;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && TRANSIENT_MESSAGES.some((m) => message.includes(m));
}

/** Capped exponential back-off with jitter, so many waiting events do not retry in step. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(1_000, 50 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}
