import type { z } from 'zod';
import { badRequest } from '../errors';

/** Parse a request part against its schema; the first problem becomes a 400 in the contract's shape. */
export function parse<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  what = 'request body',
  code = 'invalid_request',
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : `${what}: `;
    throw badRequest(code, `${where}${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
