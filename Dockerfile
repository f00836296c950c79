# The Argus sandbox as a container: one static binary on an empty (scratch)
# base, with CA certificates, a non-root user, and the specs and fixtures
# embedded in the binary.
#
# With a registry:     docker build -t docker.io/knogin/argus-sandbox:0.1.0 .
# Offline (no pulls):  docker build --build-arg BUILDER="$(scripts/builder-image.sh)" -t docker.io/knogin/argus-sandbox:0.1.0 .
#                      (scripts/build-image.sh does both steps, tags by source hash
#                      and as docker.io/knogin/argus-sandbox:0.1.0)
#
# Run:  docker run --rm -p 8080:8080 -e ARGUS_SANDBOX_OPERATOR_TOKEN=op_local docker.io/knogin/argus-sandbox:0.1.0
# Every flag is also an ARGUS_SANDBOX_* variable; mount a directory to
# override the fixtures or load a faults file, e.g.
#       -v "$PWD/fixtures:/fixtures:ro" -e ARGUS_SANDBOX_FIXTURES=/fixtures
# Keep state across restarts in a named volume:
#       -v argus-data:/data -e ARGUS_SANDBOX_DATA_DIR=/data

# BUILDER is any image with Go >= 1.26 on PATH and /etc/ssl/certs/ca-certificates.crt.
ARG BUILDER=golang:1.26

FROM ${BUILDER} AS build
# Marks this stage's intermediate images so scripts/build-image.sh can prune
# exactly those (the legacy builder keeps them as dangling images).
LABEL org.knogin.argus-sandbox.stage=build
WORKDIR /src
ENV CGO_ENABLED=0
# Modules first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every source edit. Exec form: the offline builder
# has no shell.
COPY go.mod go.sum ./
RUN ["go", "mod", "download"]
COPY . .
# Exec form: the offline builder has no shell. -trimpath keeps host paths
# out of the binary and makes the build cache position-independent.
RUN ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/sandbox", "./cmd/sandbox"]
# An empty directory for /data (WORKDIR creates it: there is no shell).
WORKDIR /out/data

FROM scratch
LABEL org.opencontainers.image.title="argus-sandbox" \
      org.opencontainers.image.description="Offline emulator of the Argus platform's public integration contract" \
      org.opencontainers.image.source="https://github.com/knogin/argus-sandbox"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/sandbox /sandbox
# /data belongs to the non-root user, for ARGUS_SANDBOX_DATA_DIR=/data: a
# named volume mounted there (-v argus-data:/data) takes this owner on
# first use and keeps the SQLite database across restarts.
COPY --from=build --chown=65532:65532 /out/data /data
# A numeric user needs no /etc/passwd; 65532 is the conventional "nonroot".
USER 65532:65532
ENV ARGUS_SANDBOX_ADDR=0.0.0.0:8080
EXPOSE 8080
# No shell or curl in the image: the binary probes its own /healthz.
HEALTHCHECK --interval=5s --timeout=5s --start-period=10s --retries=3 CMD ["/sandbox", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/sandbox"]
