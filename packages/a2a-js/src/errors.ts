import { InvalidEnvelopeError, NoAgentError, PayloadTooLargeError, TaskTimeoutError, TransportClosedError } from '@a2a-bus/core';
import { A2AError, RequestMalformedError, UnsupportedOperationError } from '@a2a-js/sdk/errors';

/**
 * A bus error as the A2A error a caller sees (the README's mapping table, bus → A2A).
 * A2A errors pass through; anything else becomes an internal error (-32603 / HTTP 500).
 */
export function toA2AError(error: unknown): unknown {
  if (error instanceof A2AError) return error;
  if (NoAgentError.isInstance(error)) return new UnsupportedOperationError({ message: error.message, cause: error });
  if (InvalidEnvelopeError.isInstance(error) || PayloadTooLargeError.isInstance(error))
    return new RequestMalformedError({ message: error.message, cause: error });
  if (TaskTimeoutError.isInstance(error)) return new A2AError({ message: error.message, cause: error });
  if (TransportClosedError.isInstance(error)) return new A2AError({ message: error.message, cause: error });
  return error;
}
