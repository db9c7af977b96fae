# One image for the portal (gunicorn) and the indexer workers.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm tesseract-ocr tesseract-ocr-dan \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN pip install --no-cache-dir -e . \
 && pybabel compile -d portal/translations -q
ENV PORTAL_INSTANCE_DIR=/srv/instance
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-", "portal:create_app()"]
