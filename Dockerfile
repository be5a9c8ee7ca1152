# One image for both roles: `npm run start:api` and `npm run start:worker` (see docker-compose.yml).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json schema.graphql ./
COPY src ./src
COPY workflows ./workflows
COPY migrations ./migrations
USER node
EXPOSE 4000
CMD ["npm", "run", "start:api"]
