# syntax=docker/dockerfile:1
#
# One image for every Vigil process. The default command is the API with its embedded scheduler; the same image
# runs the other processes with another command:
#   node dist/cmd/scheduler/main.js        a scheduler only (scale these out)
#   node dist/cmd/migrate/main.js up       apply migrations/ (also: down, status)
# Configuration comes from configs/config.json, then the file named in APP_CONFIG, then the environment (see
# README.md). Without MYSQL_DSN the store is the SQLite file data/vigil.db, under /app/data.

# --- build: compile TypeScript to dist/, then drop the dev dependencies ------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src

# better-sqlite3 compiles its native addon when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# Manifests first, so that the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY cmd ./cmd
COPY internal ./internal
COPY web ./web
# tsconfig.build.json compiles cmd/ and internal/ (no tests) to dist/, keeping the layout: dist/cmd/api/main.js;
# Vite then builds the dashboard into dist/web, which the API serves at /ui/.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled code, production dependencies, configs and migrations; no compiler, no sources -------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app

# A fixed, unprivileged user. The code stays owned by root so the process cannot change it; only data/ (the SQLite
# file, when MYSQL_DSN is unset) is writable.
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid vigil --home-dir /app --no-create-home --shell /usr/sbin/nologin vigil \
 && mkdir -p /app/data \
 && chown vigil:vigil /app/data

# package.json carries "type": "module", which dist/ needs. node_modules holds the native better-sqlite3 addon
# built above for this same base image.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The loader finds configs/config.json and migrations/ relative to the working directory.
COPY configs ./configs
COPY migrations ./migrations

USER vigil
EXPOSE 8081

# Liveness of the API: /healthz answers 200 whenever the process can answer, "degraded" included (a database or
# Redis outage is not cured by a restart). Processes without HTTP (scheduler, migrate) disable this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8081/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM starts a graceful stop: runs in flight get APP_SHUTDOWN_TIMEOUT (default 30s) to finish, so give the
# container a longer stop timeout than that (docker's default is 10s).
CMD ["node", "dist/cmd/api/main.js"]
