// The OpenAI error envelope: {error: {message, type, param, code}} with an HTTP status. Every
// failure the gateway answers goes through ApiError, so a client always gets this shape; helpers
// name the common cases so each call site says what went wrong and which field to fix.
import { EngineError } from '../../engine/index.ts';
import { GovernanceError } from '../governance/index.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
    /** What went wrong in the server's own terms (addresses, socket errors): for its log, never for the client. */
    readonly detail?: string,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 naming the field that is wrong. */
export const invalid = (param: string | null, message: string, code: string | null = null) =>
  new ApiError(400, message, 'invalid_request_error', param, code);

export const modelNotFound = (model: string) =>
  new ApiError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );

export const tooLarge = (message: string, param: string | null = null) =>
  new ApiError(413, message, 'invalid_request_error', param, 'request_too_large');

/** Maps anything thrown while serving a request to an ApiError (unknown errors become a 500 that hides internals). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof GovernanceError) {
    return new ApiError(e.status, e.message, e.type, null, e.code, e.headers as Record<string, string>);
  }
  if (e instanceof EngineError) {
    switch (e.code) {
      case 'context_length_exceeded':
        return new ApiError(400, e.message, 'invalid_request_error', e.param ?? 'messages', e.code);
      case 'unsupported_capability':
        return new ApiError(400, e.message, 'invalid_request_error', e.param, e.code);
      case 'invalid_request':
        return new ApiError(400, e.message, 'invalid_request_error', e.param, null);
      // Upstream failures name internal addresses and socket errors: the client gets what kind of
      // failure it was, the server's log gets the detail (the gateway logs `detail` with the request id).
      case 'engine_unavailable':
        return new ApiError(
          503,
          'The model server behind this API is unavailable. Retry shortly.',
          'server_error',
          null,
          e.code,
          {},
          e.message,
        );
      case 'upstream_timeout':
        return new ApiError(
          504,
          'The model server behind this API did not answer in time. Retry, or ask for fewer tokens.',
          'server_error',
          null,
          e.code,
          {},
          e.message,
        );
      case 'upstream_error': {
        const status = e.status >= 400 && e.status < 600 ? e.status : 502;
        if (status === 429)
          return new ApiError(
            429,
            'The model server behind this API is busy. Retry shortly.',
            'rate_limit_exceeded',
            null,
            e.code,
            { 'retry-after': '1' },
            e.message,
          );
        return new ApiError(
          status,
          'The model server behind this API failed while answering. Retry, and report it if it persists.',
          'server_error',
          null,
          e.code,
          {},
          e.message,
        );
      }
    }
  }
  return new ApiError(
    500,
    'The server had an error while processing your request; it has been logged. Retry, and report it if it persists.',
    'server_error',
    null,
    'internal_error',
  );
}
