/** Entry point: configuration from the environment, listen, and a graceful stop on SIGTERM/SIGINT. */
import { ConfigError, loadConfig } from './config';
import { createLogger, startServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`lifeline: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  log.info({ url: server.url, mode: config.mode, serverId: server.ctx.serverId }, 'lifeline listening');
  console.log(`Lifeline is running at ${server.url} (${config.mode} mode)`);

  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('lifeline: failed to start:', error);
  process.exit(1);
});
