/**
 * The one error type the API answers with: a stable snake_case code, an HTTP
 * status and a human message, serialised as the contract's error shape.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Optional extra members of the error object (contract extensions), beside code and message. */
    readonly details?: Record<string, unknown>,
    /** Optional response headers that belong to the answer (e.g. where an upload really stands). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const unauthorized = (message = 'sign in first') => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string, code = 'forbidden') => new AppError(403, code, message);
export const notFound = (what = 'resource') => new AppError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(409, code, message, details);
