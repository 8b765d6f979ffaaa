// The tests import src/data only through its public surface.
export * from '../../src/data/index.ts';
export { sha256Hex as sha256HexForTest } from '../../src/data/hash.ts';
