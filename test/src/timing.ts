/**
 * Slack on top of a configured time when a test asserts that something ended within it (a
 * connect timeout): on a loaded 2-core CI machine, timers and event-loop turns run seconds
 * late. It stays below the library's defaults (10 s connect timeout), so a transport that
 * ignored the configured value would still fail the assertion.
 */
export const LOADED_MACHINE_SLACK_MS = 5_000;
