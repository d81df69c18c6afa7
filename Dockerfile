# syntax=docker/dockerfile:1
# Lifeline server image (API + built PWA), used by docker-compose.local.yml for
# the local hub (DESIGN.md section 7). The server runs as one bundled module
# (scripts/build-server.mjs, rebuilt by start.mjs on every start) that imports
# the installed dependencies, so the runtime keeps them.

# 1. Dependencies, from the lockfile only (cached until a package.json changes).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY core/package.json core/package.json
COPY backend/package.json backend/package.json
COPY frontend/package.json frontend/package.json
RUN npm ci

# 2. Build the PWA (frontend/build), which the server serves on the same origin.
FROM deps AS build
COPY . .
RUN npm run build -w frontend
# 3. Bundle the server (start.mjs rebuilds it on every start; this one is ready at once).
RUN node scripts/build-server.mjs

# 4. Runtime: sources, migrations, dependencies and the built app; no build tools, not root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json /app/tsconfig.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/core ./core
COPY --from=build --chown=node:node /app/backend ./backend
COPY --from=build --chown=node:node /app/migrations ./migrations
COPY --from=build --chown=node:node /app/scripts/start.mjs /app/scripts/build-server.mjs ./scripts/
COPY --from=build --chown=node:node /app/frontend/package.json ./frontend/package.json
COPY --from=build --chown=node:node /app/frontend/build ./frontend/build
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "scripts/start.mjs"]
