// Build-time constants and globals the page defines.
declare const __KATEX_CSS__: string;

interface Window {
  /** Streaming render cost, for tests: chunks painted, total ms spent in flushes, and flush count. */
  __tetraRender?: { tokens: number; ms: number; flushes: number };
}
