// Public surface of src/gateway/governance: who may call (keys, auth), what they may do (plans),
// how much (limits), what it cost (ledger), what the server counts (metrics), and opening all of
// it for a server (setup). The HTTP side calls these through the contract in contract.ts.
export * from './contract.ts';
export { isLoopback, KeyAuth, openModeNotice } from './auth.ts';
export { KeyStore, maskKey, KEY_PREFIX, type CreatedKey } from './keys.ts';
export {
  checkImageInput,
  checkModel,
  costUsd,
  DEFAULT_PLAN,
  getPlan,
  loadPlans,
  parsePlans,
  planAllows,
  PlanConfigError,
  type PlanSet,
} from './plans.ts';
export { createLimits, formatDuration, MemoryLimits, type ManagedLimits } from './limits.ts';
export { RedisLimits } from './limits-redis.ts';
export { JournaledLedger, SqliteLedger, type UsageDimension, type UsageReportRow } from './ledger.ts';
export { GatewayMetrics, LATENCY_BUCKETS, type RequestObservation } from './metrics.ts';
export { openGovernance, type Governance } from './setup.ts';
