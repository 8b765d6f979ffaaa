// Public surface of src/gateway: the HTTP API (http/) and the governance around it (governance/:
// keys, plans, limits, ledger, metrics). http depends on governance, never the other way.
export * from './http/index.ts';
export * from './governance/index.ts';
export { defaultDbPath, defaultPlansPath, openDb, type Db } from './home.ts';
