# The mesh agent as an image: `docker build -t mesh .`, then `docker run mesh` starts an agent
# (data in the volume /var/lib/mesh, HTTP API and DNS on every address) and
# `docker run mesh members` or any other mesh command runs the CLI. docs/deploy.md has the details.
#
# BASE must provide Node.js 24 or newer as `node` on the PATH and a POSIX shell. The default is
# the official image; a build without a registry passes its own (--build-arg BASE=...).
ARG BASE=node:24-bookworm-slim
FROM ${BASE}

WORKDIR /opt/mesh

# Dependencies, in their own layer so that a source change does not reinstall them. With a
# registry, npm ci installs them from package-lock.json: --ignore-scripts because the project's
# own `prepare` script (tap build) needs the development dependencies, then classic-level's
# install script, the only one among the production dependencies (it uses the prebuilt LevelDB
# addon, or compiles one). Without a registry, put a production node_modules into the build
# context as node_modules.tar (see docs/deploy.md): ADD unpacks it, the wildcard lets it be
# absent, and npm ci is skipped.
ADD package.json package-lock.json node_modules.tar* ./
RUN if [ -d node_modules ]; then echo "dependencies: node_modules.tar from the build context"; \
    else npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild classic-level && npm cache clean --force; fi

COPY api/ api/
COPY agent/ agent/
COPY ca/ ca/
COPY catalog/ catalog/
COPY cli/ cli/
COPY proxy/ proxy/

# The agent runs as an unprivileged user that owns only its data directory; `mesh version` fails
# the build here if BASE's Node is older than 24.
RUN groupadd --system --gid 10001 mesh \
 && useradd --system --uid 10001 --gid mesh --home-dir /var/lib/mesh --no-create-home --shell /usr/sbin/nologin mesh \
 && install -d -o mesh -g mesh -m 0700 /var/lib/mesh \
 && ln -s /opt/mesh/cli/mesh.mjs /usr/local/bin/mesh \
 && mesh version

USER mesh
VOLUME /var/lib/mesh
# gossip (libp2p over TCP, SWIM over UDP), HTTP API, DNS
EXPOSE 8301/tcp 8301/udp 8500/tcp 8600/tcp 8600/udp

# `mesh members` asks the local agent's HTTP API (MESH_HTTP_ADDR, default http://127.0.0.1:8500):
# healthy once the agent answers. One short Node process every 30 s.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["mesh", "members"]

# mesh.mjs's shebang gives Node --max-semi-space-size=1 (see cli/mesh.mjs).
ENTRYPOINT ["mesh"]
# Bound to 0.0.0.0, the agent advertises the container's first non-loopback IPv4 address; pass
# --advertise when other agents must reach it at another address (a published port, the host's).
CMD ["agent", "start", "--data-dir", "/var/lib/mesh", "--client", "0.0.0.0"]
