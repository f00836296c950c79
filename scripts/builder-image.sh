#!/usr/bin/env bash
# builder-image.sh creates a local Go builder base image for the Dockerfile's
# BUILDER build argument, for machines whose Docker engine cannot pull
# golang:1.26 (no registry). The image is imported from a tarball of what the
# host already has:
#   - the host's Go toolchain (GOROOT, as /usr/local/go),
#   - the modules cmd/sandbox needs, copied out of the host module cache
#     (GOFLAGS=-mod=mod, GOPROXY=off: the build never reaches the network),
#   - a build cache warmed with those modules and the same flags as the
#     Dockerfile, so an image build only compiles the packages that changed,
#   - the host's CA bundle (the final scratch stage copies it).
# No shell is needed inside: the Dockerfile's RUN steps use the exec form.
#
# Usage: scripts/builder-image.sh          prints the image reference
# The tag names the Go version and a hash of the module set, so the image is
# rebuilt only when either changes (FORCE=1 rebuilds anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

go_version=$(go env GOVERSION)
# -e: a main-module package that does not compile right now (mid-edit) must
# not stop us; only the third-party module set matters here.
modules=$(go list -e -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}' ./cmd/sandbox | sort -u)
packages=$(go list -e -deps -f '{{if not .Standard}}{{with .Module}}{{if not .Main}}{{$.ImportPath}}{{end}}{{end}}{{end}}' ./cmd/sandbox | grep -v '/internal/' | sort -u)
mod_hash=$( { echo "$go_version"; echo "$modules"; cat go.sum; } | sha256sum | cut -c1-12)
tag="argus-sandbox-builder:${go_version}-${mod_hash}"

if [ -z "${FORCE:-}" ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

stage=$(mktemp -d)
trap 'chmod -R u+w "$stage" 2>/dev/null; rm -rf "$stage" "$stage.proxy"' EXIT
mkdir -p "$stage/go/pkg/mod" "$stage/root/.cache" "$stage/etc/ssl/certs" "$stage/tmp" "$stage/src"
chmod 1777 "$stage/tmp"
cp -L /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/ca-certificates.crt"

# Copy only the needed modules out of the host cache, through a file://
# proxy so the go command checks every zip against go.sum.
host_cache=$(go env GOMODCACHE)
# The host cache holds what builds and tests have needed; the image's
# module layer needs every module go.mod requires, test-only ones and
# their go.mod files included, so fetch any it lacks first (through the
# host's GOPROXY; nothing to fetch when they are all there).
go mod download
# The proxy is a hard-linked copy of the host's download cache, completed
# with the .info files a cache filled without them (by a module zip
# import, or an older go) lacks: the file:// proxy protocol needs one per
# version, and {"Version": ...} is all the go command reads from it.
proxy="$stage.proxy"
cp -al "$host_cache/cache/download" "$proxy" 2>/dev/null || { rm -rf "$proxy"; cp -a "$host_cache/cache/download" "$proxy"; }
find "$proxy" -name '*.mod' -path '*/@v/*' | while read -r mod; do
  info="${mod%.mod}.info"
  [ -e "$info" ] || printf '{"Version":"%s"}\n' "$(basename "${mod%.mod}")" >"$info"
done
# The plain "go mod download" after them is the Dockerfile's module layer:
# it fetches every module go.mod requires (test-only ones included), so
# the image must hold those too.
# shellcheck disable=SC2086 # one argument per module
GOMODCACHE="$stage/go/pkg/mod" GOPROXY="file://$proxy" GOSUMDB=off GOFLAGS=-mod=mod \
  go mod download $modules
GOMODCACHE="$stage/go/pkg/mod" GOPROXY="file://$proxy" GOSUMDB=off GOFLAGS=-mod=mod \
  go mod download

# Warm the build cache with the third-party and standard packages, built
# exactly as the Dockerfile builds: with -trimpath the cache keys do not
# depend on where GOROOT or the module cache sit. The project's own packages
# change too often to be worth caching here.
# shellcheck disable=SC2086 # one argument per package
GOMODCACHE="$stage/go/pkg/mod" GOCACHE="$stage/root/.cache/go-build" GOPROXY=off GOFLAGS=-mod=mod \
  CGO_ENABLED=0 go build -trimpath $packages

goroot=$(go env GOROOT)
{
  tar -C "$stage" -c go root etc tmp src
} >"$stage.tar"
# The toolchain is appended under usr/local/go whatever its host path.
tar -C "$goroot/.." -r -f "$stage.tar" \
  --exclude="$(basename "$goroot")/test" --exclude='testdata' \
  --transform "s,^$(basename "$goroot"),usr/local/go," "$(basename "$goroot")"
trap 'chmod -R u+w "$stage" 2>/dev/null; rm -rf "$stage" "$stage.tar" "$stage.proxy"' EXIT

docker import \
  --change 'ENV PATH=/usr/local/go/bin:/go/bin:/usr/bin:/bin' \
  --change 'ENV HOME=/root' \
  --change 'ENV GOPATH=/go' \
  --change 'ENV GOMODCACHE=/go/pkg/mod' \
  --change 'ENV GOCACHE=/root/.cache/go-build' \
  --change 'ENV GOFLAGS=-mod=mod' \
  --change 'ENV GOPROXY=off' \
  --change 'ENV GOSUMDB=off' \
  --change 'ENV GOTOOLCHAIN=local' \
  --change 'ENV CGO_ENABLED=0' \
  --change 'WORKDIR /src' \
  --message "argus-sandbox builder: $go_version, modules $mod_hash" \
  "$stage.tar" "$tag" >/dev/null
# Older builders (another Go version or module set) are superseded.
docker images argus-sandbox-builder --format '{{.Repository}}:{{.Tag}}' | grep -vxF "$tag" |
  xargs -r docker rmi >/dev/null 2>&1 || true
echo "$tag"
