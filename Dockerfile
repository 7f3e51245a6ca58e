# Multi-stage build: the web app's static files, then the Python service (api + worker),
# then an nginx image for the `web` service.

FROM node:20-bookworm-slim AS frontend
WORKDIR /app
COPY graphql ./graphql
COPY frontend/package.json frontend/package-lock.json ./frontend/
RUN cd frontend && npm ci --no-audit --no-fund
COPY frontend ./frontend
RUN cd frontend && npm run build

FROM python:3.11-slim-bookworm AS service
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 WALLET_ENV=production \
    WALLET_HOST=0.0.0.0 WALLET_PORT=8000 PYTHONPATH=/app
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
RUN pip install --no-cache-dir -e .
COPY migrations ./migrations
COPY workers ./workers
COPY graphql ./graphql
COPY --from=frontend /app/frontend/dist ./frontend/dist
RUN useradd --system --uid 10001 wallet \
    && mkdir -p /var/lib/wallet/audit-anchors && chown -R wallet /var/lib/wallet
USER wallet
EXPOSE 8000
CMD ["wallet", "serve"]

FROM nginx:1.27-alpine AS web
COPY deploy/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=frontend /app/frontend/dist /usr/share/nginx/html
