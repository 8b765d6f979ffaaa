// Public surface of src/util: what every layer shares and nothing else provides. It imports
// nothing from the rest of src.
export { tetraHome } from './home.ts';
export { Progress } from './progress.ts';
export { JsonlError, readJsonl } from './jsonl.ts';
