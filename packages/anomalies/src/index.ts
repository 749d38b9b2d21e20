export { anomalyKinds, anomalySubject, type Anomaly, type AnomalyKind } from './anomaly.js';
export { AnomalyDetector, createAnomalyDetector } from './anomaly-detector.js';
export type { AnomalyDetectorOptions } from './options.js';
export { anomaliesTopic, anomalyOf, followAnomalies, publishAnomaly, readAnomalies } from './anomaly-topic.js';
export type { LagSample, LagSource } from './lag.js';
export { AnomalyMetrics } from './metrics.js';
export { busOfAgent, observeRegistryRecord, observeWorkflowRecord } from './runtime-records.js';
export { watchBus, type BusWatcher } from './watch.js';
export { RobustBaseline } from './robust-baseline.js';
