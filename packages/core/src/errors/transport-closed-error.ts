import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** The transport or subscription was closed before the operation could run. */
export class TransportClosedError extends A2ABusError {
  static readonly code = 'TRANSPORT_CLOSED';
  constructor(scope: string, operation: string) {
    super(TransportClosedError.code, formatMessage(scope, `cannot ${operation}: the transport is closed`));
  }

  static override isInstance(error: unknown): error is TransportClosedError {
    return A2ABusError.isInstance(error) && error.code === TransportClosedError.code;
  }
}
