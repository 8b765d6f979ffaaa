// Public surface of src/engine: the ChatEngine contract and its backends.
export * from './types.ts';
export { BuiltinEngine, openBuiltinEngine } from './builtin.ts';
