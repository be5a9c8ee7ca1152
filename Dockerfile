# One image for both roles: `npm run start:api` and `npm run start:worker` (see docker-compose.yml).
# The console is built in a stage of its own (it needs the dev dependencies) and copied in.
FROM node:24-bookworm-slim AS console
WORKDIR /app
# No install script is needed to build the console (and prepare would build it before its sources are here), so the
# dependencies' layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY schema.graphql ./
COPY console ./console
RUN npm run build:console

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm ci runs the package's preinstall (bin/) and postinstall (patches/, the Temporal SDK's patch).
COPY bin ./bin
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json schema.graphql ./
COPY src ./src
COPY workflows ./workflows
COPY migrations ./migrations
COPY --from=console /app/dist/console ./dist/console
USER node
EXPOSE 4000
CMD ["npm", "run", "start:api"]
