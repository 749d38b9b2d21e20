export { A2ABusError, formatMessage } from './a2a-bus-error.js';
export { InvalidOptionsError } from './invalid-options-error.js';
export { InvalidEnvelopeError } from './invalid-envelope-error.js';
export { DecodeError } from './decode-error.js';
export { BrokerUnreachableError } from './broker-unreachable-error.js';
export { TransportClosedError } from './transport-closed-error.js';
export { AdapterNotInstalledError } from './adapter-not-installed-error.js';
export { PublishError } from './publish-error.js';
