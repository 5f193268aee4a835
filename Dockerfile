# streamguard webhook server image. Kubernetes probes /healthz and /readyz (see the Helm chart),
# so the image has no HEALTHCHECK.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Compile TypeScript with the dev dependencies; nothing of this stage but dist/ is kept.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, exactly as package-lock.json pins them.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="streamguard" \
      org.opencontainers.image.description="Admission webhooks that keep the RHEL 9 to RHEL 10 node OS transition of HyperShift NodePools safe" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.vendor="streamguard"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY data ./data
COPY policies ./policies
COPY schemas ./schemas
RUN ln -s /app/bin/streamguard.js /usr/local/bin/streamguard
# A numeric non-root user (runAsNonRoot can verify it); group 0 so OpenShift's arbitrary UIDs
# read the same files.
USER 10001:0
EXPOSE 8443
ENTRYPOINT ["streamguard", "serve"]
CMD ["--in-cluster", "--policy", "/etc/streamguard/policy/policy.yaml", "--listen", ":8443"]
