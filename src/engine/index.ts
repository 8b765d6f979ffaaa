// Public surface of src/engine: the ChatEngine contract and its backends (builtin, llamacpp,
// upstream), the fair queue every engine uses, and the JSON constraint for response_format.
export * from './types.ts';
export { BuiltinEngine, openBuiltinEngine } from './builtin.ts';
export { FairQueue, QueueAbortedError } from './queue.ts';
export {
  createJsonConstraint,
  constraintFor,
  pickConstrained,
  tokenBytesOf,
  JsonSchemaError,
  type JsonConstraint,
  type JsonConstraintOptions,
  type ConstrainedPickOptions,
  type JsonType,
} from './json-constraint.ts';
export { UpstreamEngine, type UpstreamOptions } from './upstream.ts';
export { LlamaCppEngine, loadNodeLlamaCpp, NODE_LLAMA_CPP_VERSION, type LlamaCppOptions } from './llamacpp.ts';
