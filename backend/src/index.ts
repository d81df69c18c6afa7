export { createApp } from './app';
export { loadConfig, type Config } from './config';
export { startServer, createLogger, type RunningServer } from './server';
