# One image for the gateway, the workers and migrations; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fairhub fairhub
COPY workers workers
COPY sql sql
RUN pip install --no-cache-dir . && useradd --system fairhub
USER fairhub
ENV FAIRHUB_HOST=0.0.0.0 FAIRHUB_PORT=8080
EXPOSE 8080
CMD ["fairhub", "serve"]
