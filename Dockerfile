# syntax=docker/dockerfile:1
#
# Production image of the SMS verification service.
#   docker build -t sms-verification .
#   docker run --env-file .env -p 3000:3000 sms-verification
# NODE_ENV is production here, so the service refuses to start without HASH_SECRET, Twilio
# credentials and DATABASE_URL (see .env.example). docker-compose.yml runs it with PostgreSQL
# and Redis.

# Node 24 is the LTS line; CI runs the whole suite on it (.ci/run, .ci/node24) and on Node 20.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every dependency, TypeScript compiled to dist/ ----------------------------------
FROM ${NODE_IMAGE} AS builder
WORKDIR /app
# Install scripts stay off, as on the development machines (npm 11 skips them by default):
# argon2 loads the prebuilt binary it ships for linux-x64/arm64 glibc, and the rest is pure JS.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# --- production dependencies only ----------------------------------------------------------
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# V8 otherwise lets old space grow with the machine's memory (459 MB peak RSS under 500
# connections in docs/BENCHMARKS.md, mostly uncollected garbage); capped, it collects sooner and
# the process stays under 300 MB. A capped old space also shrinks the young generation V8 derives
# from it, and the many short-lived objects of each request then cost scavenges: the semi-space
# keeps its default 16 MB. npm start uses the same flags; npm run bench reads them from here.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=16"
WORKDIR /app
# Owned by root and read-only to the service user: the process cannot rewrite its own code.
# The SMS texts and the dashboard page are found next to package.json at run time, so all sit
# at /app (tsc does not copy them into dist).
COPY package.json ./
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
COPY i18n ./i18n
# The common-password list the password policy refuses, read at boot.
COPY src/auth/password/common-passwords.txt ./src/auth/password/common-passwords.txt
COPY src/dashboard/public ./src/dashboard/public
# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 3000
# Liveness only (GET /health); readiness with the database and Redis is /health/ready.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM: it stops accepting, drains, closes its pools, exits 0.
CMD ["node", "dist/src/main.js"]
