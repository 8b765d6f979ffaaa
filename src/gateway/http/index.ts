// Public surface of src/gateway/http: the OpenAI-compatible server (node:http, an exact-match route
// table), the model catalog it serves, request validation and the error envelope.
export { createGateway, type Gateway } from './server.ts';
export type { GatewayOptions } from './context.ts';
export type { ModerationService } from './moderations.ts';
export {
  Catalog,
  CatalogError,
  loadCatalogFile,
  parseCatalog,
  type Alias,
  type CatalogConfig,
  type EngineSpec,
  type Snapshot,
} from './catalog.ts';
export { ApiError, toApiError } from './errors.ts';
export { LIMITS, validateChat, validateCompletion } from './validate.ts';
export { DEFAULT_IMAGE_LIMITS, imageInfo, isNonPublicAddress, loadImage, type ImageLimits } from './images.ts';
