// Public surface of src/net: the one HTTP transport to OpenAI-compatible servers, used by the
// upstream engine (streamed) and the evals' completion functions (buffered). client.ts says why
// it is not the official `openai` client, http1.ts why it is not node:http, retry.ts the policy.
export { OpenAIHttpClient, type OpenAIHttpOptions } from './client.ts';
export { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, parseErrorBody, type ErrorBody } from './errors.ts';
export {
  RETRY_POLICY,
  withRetries,
  isRetryable,
  isRetryableStatus,
  retryAfterMs,
  retryDelayMs,
  backoffMs,
  RetriesExhaustedError,
  type RetryOptions,
} from './retry.ts';
export { SseReader } from './sse.ts';
export { Http1Client, Http1Error, DEFAULT_HTTP1_TIMEOUTS, type Http1ClientOptions, type Http1Response } from './http1.ts';
