# One image for both roles: `npm run start:api` and `npm run start:worker` (see docker-compose.yml).
# The console is built in a stage of its own (it needs the dev dependencies) and copied in.
FROM node:24-bookworm-slim AS console
WORKDIR /app
# npm ci runs the package's scripts: preinstall (bin/), postinstall (patches/) and prepare, which builds the console.
COPY package.json package-lock.json ./
COPY bin ./bin
COPY patches ./patches
COPY schema.graphql ./
COPY console ./console
RUN npm ci --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
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
