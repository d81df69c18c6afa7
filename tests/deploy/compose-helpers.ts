/** What the static checks of both Compose files share: reading repo files, config.ts's variables, interpolation. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Every variable backend/src/config.ts reads: the keys of its zod environment schema. */
export const configVariables = (() => {
  const source = read('backend/src/config.ts');
  const schema = source.slice(source.indexOf('const envSchema'), source.indexOf('export type Mode'));
  return new Set([...schema.matchAll(/^ {4}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]!));
})();

/** `${NAME}`, `${NAME:-default}`, `${NAME:?message}` as Compose interpolates them, from `env`. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}/g, (_all, name: string, op?: string, arg?: string) => {
    const set = env[name];
    if (set !== undefined && set !== '') return set;
    if (op === ':?') throw new Error(`${name} is required: ${arg}`);
    return op === ':-' ? (arg ?? '') : '';
  });
}

/** The variables a text refers to as `${NAME…}`. */
export const referenced = (text: string) => new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((match) => match[1]!));
