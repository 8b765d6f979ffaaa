// Public surface of src/gateway: the HTTP server, the model catalog, default governance, metrics.
export { createGateway, type Gateway } from './server.ts';
export type { GatewayOptions } from './context.ts';
export { Catalog, parseCatalog, loadCatalogFile, CatalogError, type CatalogConfig, type Snapshot, type Alias, type EngineSpec } from './catalog.ts';
export { ApiError, toApiError } from './errors.ts';
export { GatewayMetrics, type RequestObservation } from './metrics.ts';
export { isLoopback } from './auth.ts';
export { DEFAULT_PLAN } from './plans.ts';
export { DEFAULT_IMAGE_LIMITS, imageInfo, type ImageLimits } from './images.ts';
export { validateChat, validateCompletion, LIMITS } from './validate.ts';
export * from './governance.ts';
