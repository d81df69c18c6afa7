/**
 * Configuration from the environment, parsed and validated once at start-up
 * (DESIGN.md section 4, "Configuration"). A bad value stops the process with
 * a message naming the variable, rather than failing later in a request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from './paths';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const httpUrl = (name: string) =>
  optionalString.refine(
    (value) => value === undefined || /^https?:\/\/[^\s]+$/.test(value),
    `${name} must be an http(s) URL`,
  );

const positiveInt = (fallback: number, max = 86_400_000) =>
  optionalString
    .refine((value) => value === undefined || /^\d+$/.test(value), 'must be a whole number')
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .refine((value) => value >= 1 && value <= max, `must be between 1 and ${max}`);

const envSchema = z
  .object({
    PORT: optionalString
      .refine((value) => value === undefined || /^\d+$/.test(value), 'must be a port number')
      .transform((value) => (value === undefined ? 3000 : Number(value)))
      .refine((value) => value >= 0 && value <= 65_535, 'must be between 0 and 65535'),
    HOST: optionalString,
    DATABASE_URL: optionalString.refine(
      (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
      'DATABASE_URL must start with postgres:// or postgresql://',
    ),
    DATABASE_READ_URLS: optionalString.refine(
      (value) => value === undefined || value.split(',').every((url) => /^postgres(ql)?:\/\/\S+$/.test(url.trim())),
      'DATABASE_READ_URLS must be postgres:// URLs, comma-separated',
    ),
    DATABASE_READ_MAX_LAG_MS: positiveInt(2000, 3_600_000),
    DATA_DIR: optionalString,
    UPSTREAM_URL: httpUrl('UPSTREAM_URL'),
    HUB_API_KEY: optionalString,
    UPSTREAM_INTERVAL_MS: positiveInt(30_000),
    UPSTREAM_BACKOFF_MAX_MS: positiveInt(60_000),
    OPERATOR_TOKEN: optionalString,
    GROQ_API_KEY: optionalString,
    GROQ_BASE_URL: httpUrl('GROQ_BASE_URL'),
    GROQ_MODEL: optionalString,
    OLLAMA_URL: httpUrl('OLLAMA_URL'),
    OLLAMA_MODEL: optionalString,
    LLM_TIMEOUT_MS: positiveInt(3000, 600_000),
    LLM_PROVIDER_ORDER: optionalString.refine((value) => {
      if (value === undefined) return true;
      const names = value.split(',').map((name) => name.trim().toLowerCase());
      return names.every((name) => name === 'groq' || name === 'ollama') && new Set(names).size === names.length;
    }, 'LLM_PROVIDER_ORDER must list groq and/or ollama, comma-separated, each once (e.g. "ollama,groq")'),
    SESSION_SECRET: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    FRONTEND_DIR: optionalString,
    TLS_CERT_FILE: optionalString,
    TLS_KEY_FILE: optionalString,
    ATTACHMENT_MAX_BYTES: positiveInt(10 * 1024 * 1024, 2 ** 30),
    ATTACHMENT_COMMUNITY_MAX_BYTES: positiveInt(2 ** 30, 2 ** 50),
    ATTACHMENT_UPLOAD_EXPIRY_HOURS: optionalString
      .refine(
        (value) => value === undefined || /^\d+(\.\d+)?$/.test(value),
        'ATTACHMENT_UPLOAD_EXPIRY_HOURS must be a number of hours (e.g. 24 or 0.5)',
      )
      .transform((value) => (value === undefined ? 24 : Number(value)))
      .refine(
        (hours) => hours > 0 && hours <= 8760,
        'ATTACHMENT_UPLOAD_EXPIRY_HOURS must be more than 0 and at most 8760 (a year)',
      ),
    ATTACHMENT_STORE: optionalString
      .refine((value) => value === undefined || value === 'postgres' || value === 's3', 'must be postgres or s3')
      .transform((value) => (value ?? 'postgres') as 'postgres' | 's3'),
    ATTACHMENT_S3_BUCKET: optionalString.refine(
      (value) => value === undefined || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value),
      'ATTACHMENT_S3_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
    ),
    ATTACHMENT_S3_ENDPOINT: httpUrl('ATTACHMENT_S3_ENDPOINT'),
    ATTACHMENT_S3_REGION: optionalString,
    ATTACHMENT_S3_ACCESS_KEY_ID: optionalString,
    ATTACHMENT_S3_SECRET_ACCESS_KEY: optionalString,
    ATTACHMENT_S3_FORCE_PATH_STYLE: optionalString.refine(
      (value) => value === undefined || value === 'true' || value === 'false',
      'must be true or false',
    ),
    ATTACHMENT_S3_PREFIX: optionalString.refine(
      (value) => value === undefined || /^[A-Za-z0-9!_.*'()/-]*$/.test(value),
      "ATTACHMENT_S3_PREFIX may hold letters, digits and !_.*'()/- only",
    ),
    SHUTDOWN_DRAIN_MS: optionalString
      .refine((value) => value === undefined || /^\d+$/.test(value), 'must be a whole number')
      .transform((value) => (value === undefined ? 0 : Number(value)))
      .refine((value) => value <= 600_000, 'must be at most 600000'),
  })
  .refine((env) => (env.UPSTREAM_URL === undefined) === (env.HUB_API_KEY === undefined), {
    message: 'UPSTREAM_URL and HUB_API_KEY must be set together (both = hub mode)',
    path: ['UPSTREAM_URL'],
  })
  .refine((env) => env.ATTACHMENT_STORE !== 's3' || env.ATTACHMENT_S3_BUCKET !== undefined, {
    message: 'ATTACHMENT_STORE=s3 needs ATTACHMENT_S3_BUCKET',
    path: ['ATTACHMENT_S3_BUCKET'],
  })
  .refine(
    (env) => (env.ATTACHMENT_S3_ACCESS_KEY_ID === undefined) === (env.ATTACHMENT_S3_SECRET_ACCESS_KEY === undefined),
    {
      message: 'ATTACHMENT_S3_ACCESS_KEY_ID and ATTACHMENT_S3_SECRET_ACCESS_KEY must be set together',
      path: ['ATTACHMENT_S3_ACCESS_KEY_ID'],
    },
  )
  .refine((env) => env.DATABASE_READ_URLS === undefined || env.DATABASE_URL !== undefined, {
    message: 'DATABASE_READ_URLS needs DATABASE_URL (the primary that takes the writes)',
    path: ['DATABASE_READ_URLS'],
  })
  .refine((env) => (env.TLS_CERT_FILE === undefined) === (env.TLS_KEY_FILE === undefined), {
    message: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together (both = serve HTTPS)',
    path: ['TLS_CERT_FILE'],
  });

export type Mode = 'embedded' | 'cloud' | 'hub';

export interface Config {
  port: number;
  host: string | undefined;
  mode: Mode;
  databaseUrl: string | undefined;
  /** Read replicas (DATABASE_READ_URLS) and how far behind one may be and still serve reads. */
  readReplicas: { urls: string[]; maxLagMs: number };
  dataDir: string;
  upstream: { url: string; apiKey: string; intervalMs: number; backoffMaxMs: number } | undefined;
  operatorToken: string | undefined;
  groq: { apiKey: string; baseUrl: string | undefined; model: string } | undefined;
  ollama: { url: string; model: string } | undefined;
  llmTimeoutMs: number;
  /** Order the assistant tries model providers in (LLM_PROVIDER_ORDER); unset = groq, then ollama. */
  llmProviderOrder?: ('groq' | 'ollama')[];
  sessionSecret: string | undefined;
  logLevel: string;
  frontendDir: string;
  /** Serve HTTPS directly (a hub on a LAN needs a secure context for the offline app). */
  tls: { cert: Buffer; key: Buffer } | undefined;
  /**
   * On SIGTERM, how long to keep serving while /readyz already says 503, so a
   * load balancer stops sending new requests before this instance stops
   * accepting them (SHUTDOWN_DRAIN_MS; 0 = stop accepting at once).
   */
  shutdownDrainMs: number;
  /**
   * Uploaded photos and files: the largest one accepted (ATTACHMENT_MAX_BYTES)
   * and the most one community may hold, declared uploads included
   * (ATTACHMENT_COMMUNITY_MAX_BYTES), and how long an unfinished upload may
   * go without a piece or a declaration before it is deleted and no longer
   * counts (ATTACHMENT_UPLOAD_EXPIRY_HOURS, in milliseconds here).
   */
  attachments: { maxBytes: number; communityMaxBytes: number; uploadExpiryMs: number; s3?: S3Config };
}

/** ATTACHMENT_STORE=s3: attachment bytes in an S3-compatible bucket instead of Postgres. */
export interface S3Config {
  bucket: string;
  /** An S3-compatible service's URL (MinIO, R2, …); unset for AWS itself. */
  endpoint?: string;
  region: string;
  /** Unset: the AWS SDK's own chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** Prepended to every key, e.g. "lifeline/attachments/". */
  prefix: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULT_GROQ_MODEL = 'llama-3.3-70b-versatile';
export const DEFAULT_OLLAMA_MODEL = 'llama3.2:1b';

function readPem(variable: string, file: string): Buffer {
  try {
    const pem = fs.readFileSync(file);
    if (!pem.includes('-----BEGIN')) throw new Error('not a PEM file');
    return pem;
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  ${variable}: cannot read ${file} (${(error as Error).message})`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const upstream =
    e.UPSTREAM_URL && e.HUB_API_KEY
      ? {
          url: e.UPSTREAM_URL.replace(/\/+$/, ''),
          apiKey: e.HUB_API_KEY,
          intervalMs: e.UPSTREAM_INTERVAL_MS,
          backoffMaxMs: e.UPSTREAM_BACKOFF_MAX_MS,
        }
      : undefined;
  return {
    port: e.PORT,
    host: e.HOST,
    mode: upstream ? 'hub' : e.DATABASE_URL ? 'cloud' : 'embedded',
    databaseUrl: e.DATABASE_URL,
    readReplicas: {
      urls: e.DATABASE_READ_URLS?.split(',').map((url) => url.trim()) ?? [],
      maxLagMs: e.DATABASE_READ_MAX_LAG_MS,
    },
    dataDir: path.resolve(e.DATA_DIR ?? './data'),
    upstream,
    operatorToken: e.OPERATOR_TOKEN,
    groq: e.GROQ_API_KEY
      ? { apiKey: e.GROQ_API_KEY, baseUrl: e.GROQ_BASE_URL, model: e.GROQ_MODEL ?? DEFAULT_GROQ_MODEL }
      : undefined,
    ollama: e.OLLAMA_URL
      ? { url: e.OLLAMA_URL.replace(/\/+$/, ''), model: e.OLLAMA_MODEL ?? DEFAULT_OLLAMA_MODEL }
      : undefined,
    llmTimeoutMs: e.LLM_TIMEOUT_MS,
    llmProviderOrder: e.LLM_PROVIDER_ORDER?.split(',').map((name) => name.trim().toLowerCase() as 'groq' | 'ollama'),
    sessionSecret: e.SESSION_SECRET,
    logLevel: e.LOG_LEVEL,
    frontendDir: path.resolve(e.FRONTEND_DIR ?? path.join(REPO_ROOT, 'frontend/build')),
    tls:
      e.TLS_CERT_FILE && e.TLS_KEY_FILE
        ? { cert: readPem('TLS_CERT_FILE', e.TLS_CERT_FILE), key: readPem('TLS_KEY_FILE', e.TLS_KEY_FILE) }
        : undefined,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    attachments: {
      maxBytes: e.ATTACHMENT_MAX_BYTES,
      communityMaxBytes: e.ATTACHMENT_COMMUNITY_MAX_BYTES,
      uploadExpiryMs: Math.round(e.ATTACHMENT_UPLOAD_EXPIRY_HOURS * 3_600_000),
      s3:
        e.ATTACHMENT_STORE === 's3'
          ? {
              bucket: e.ATTACHMENT_S3_BUCKET!,
              endpoint: e.ATTACHMENT_S3_ENDPOINT,
              region: e.ATTACHMENT_S3_REGION ?? 'us-east-1',
              accessKeyId: e.ATTACHMENT_S3_ACCESS_KEY_ID,
              secretAccessKey: e.ATTACHMENT_S3_SECRET_ACCESS_KEY,
              // S3-compatible servers on a plain host name rarely serve virtual-hosted buckets.
              forcePathStyle: e.ATTACHMENT_S3_FORCE_PATH_STYLE
                ? e.ATTACHMENT_S3_FORCE_PATH_STYLE === 'true'
                : e.ATTACHMENT_S3_ENDPOINT !== undefined,
              prefix: e.ATTACHMENT_S3_PREFIX ?? 'attachments/',
            }
          : undefined,
    },
  };
}
