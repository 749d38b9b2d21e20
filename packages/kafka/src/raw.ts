/**
 * The kafkajs client a2a-bus runs on, for side-by-side benchmarks and for tools that need
 * the raw client with the very same version. Not part of the transport API.
 */
export * from 'kafkajs';
