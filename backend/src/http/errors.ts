/** The last middleware: every failure leaves in the contract's error shape, never as a stack trace. */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors';

interface BodyParserError {
  type?: string;
  status?: number;
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case 'entity.too.large':
      return new AppError(413, 'payload_too_large', 'request body is larger than 5 MB');
    case 'entity.parse.failed':
      return new AppError(400, 'invalid_json', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_encoding', 'request body encoding is not supported');
    case 'request.aborted':
      return new AppError(400, 'request_aborted', 'request was aborted');
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new AppError(parserError.status, 'bad_request', 'the request could not be read');
  }
  return new AppError(500, 'internal_error', 'something went wrong on the server');
}

export function errorHandler(log: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appError = toAppError(error);
    if (appError.status >= 500) (req.log ?? log).error({ err: error }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    if (appError.headers) res.set(appError.headers);
    res
      .status(appError.status)
      .json({ error: { ...appError.details, code: appError.code, message: appError.message } });
  };
}

export function apiNotFound(req: Request): never {
  throw new AppError(404, 'not_found', `no route ${req.method} ${req.originalUrl.split('?')[0]}`);
}
