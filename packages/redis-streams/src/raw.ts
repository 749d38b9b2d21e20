/**
 * The ioredis this adapter runs on, for benchmarks and tests that compare with (or arrange
 * broker state through) the raw client at the very same version.
 */
export { Redis, type RedisOptions } from 'ioredis';
