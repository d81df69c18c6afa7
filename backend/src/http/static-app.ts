/** Serves the built PWA on the API's origin, with the SPA fallback and cache rules the service worker needs. */
import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lifeline</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Lifeline server is running</h1>
<p>The web app has not been built yet. Run <code>npm run build</code>, or <code>npm start</code>, which builds it.</p>
<p>The API is at <code>/api</code>; health at <code>/healthz</code>.</p></main></body></html>`;

export function staticApp(frontendDir: string): Router {
  const router = Router();
  const indexFile = path.join(frontendDir, 'index.html');
  router.use(
    express.static(frontendDir, {
      index: false,
      setHeaders(res, filePath) {
        if (filePath.includes(`${path.sep}_app${path.sep}immutable${path.sep}`)) {
          res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        } else {
          // The service worker and the shell must be revalidated, or updates never arrive.
          res.setHeader('Cache-Control', 'no-cache');
        }
      },
    }),
  );
  router.get(/^(?!\/api\/).*/, (req, res, next) => {
    if (!req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    if (fs.existsSync(indexFile)) res.sendFile(indexFile);
    else res.type('html').send(PLACEHOLDER);
  });
  return router;
}
