// Public surface of src/gateway/http: the OpenAI-compatible server (node:http, an exact-match route
// table), the model catalog it serves, request validation and the error envelope.
export { createGateway, type Gateway, type Handler, type ModelObject } from './server.ts';
export { newId, type GatewayOptions, type RequestState } from './context.ts';
export type { GenerationHooks, GenerationSource } from './generation.ts';
export { parseJson, readBody, sendError, sendJson, type BodyLimits } from './wire.ts';
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
export { DEFAULT_IMAGE_LIMITS, imageInfo, isNonPublicAddress, loadImage, parseDataUrl, type ImageLimits } from './images.ts';
