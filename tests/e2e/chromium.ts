/**
 * How the browser tests and the browser benchmark launch Debian's Chromium
 * (Playwright's own browser download cannot work here). The flags keep it
 * from reaching for the network on its own.
 */
export const CHROMIUM_EXECUTABLE = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
