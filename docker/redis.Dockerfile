# Redis for the compose stack (broker and the agents' bus): Debian's redis-server on the
# local base image, no registry. Build context: docker/.
ARG BASE_IMAGE=coopbench/base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint
# A named volume mounted here starts with the image's ownership (redis).
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["redis-entrypoint"]
CMD ["--appendonly", "yes"]
