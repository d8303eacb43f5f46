# Production image: build once, run the compiled app against DATABASE_URL. `npm run build` is the
# production build (src + migrations): the sandbox is not in it, so SANDBOX must be false (the default
# with NODE_ENV=production; SANDBOX=true is refused). .ci/run repeats these steps and boots the result.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && test ! -e dist/sandbox && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# V8's heap budget. Without one Node sizes the heap from the host's memory and collects late: a 100,000-charge
# rebilling pass peaked at 388 MB RSS on a 24 GB host, 214 MB with this (5 % fewer charges/s; docs/performance.md).
# A 32 MB young generation (semi-space; V8 picks 16 MB here): requests in flight outlive the default's scavenges,
# ~8 % of a purchase's CPU, for ~30 MB more RSS (rebilling's peak 224 -> 253 MB; docs/performance.md, sixteenth pass).
# Override it with the container's budget (about 60 % of its memory limit); npm run bench starts the app with it.
ENV NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=32"
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
