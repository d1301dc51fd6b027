# One image for every role: `docker run hexashop start --role product`.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build stage to keep in sync.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HEXASHOP_HOST=0.0.0.0 \
    HEXASHOP_DATA_DIR=/var/lib/hexashop
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY src ./src
COPY docs/openapi.yaml ./docs/openapi.yaml
RUN mkdir -p /var/lib/hexashop && chown node:node /var/lib/hexashop
USER node
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HEXASHOP_PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/hexashop.js"]
CMD ["start"]
