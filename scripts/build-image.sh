#!/usr/bin/env bash
# build-image.sh builds the sandbox image from this source tree and prints its
# reference, argus-sandbox:src-<hash>. The hash covers every file the build
# context holds (see .dockerignore) plus the Dockerfile, so an image already
# built from the same sources is reused instead of rebuilt.
#
# Usage: scripts/build-image.sh [extra docker build arguments]
#   BUILDER=golang:1.26 scripts/build-image.sh   use a registry image as builder
#   (default: the local builder from scripts/builder-image.sh, which needs no pulls)
#   IMAGE=argus-sandbox                          repository name of the result
# The image is also tagged $IMAGE:latest (sandboxtest.DefaultImage).
#   KEEP_IMAGES=3                                source-built tags kept (newest first)
# Build output goes to stderr; stdout is only the image reference.
set -euo pipefail
cd "$(dirname "$0")/.."

repo=${IMAGE:-argus-sandbox}
builder=${BUILDER:-}
if [ -z "$builder" ]; then
  builder=$(scripts/builder-image.sh)
fi

# The same files the build context holds: .dockerignore keeps go.mod, go.sum
# and the non-test sources under client, cmd, emulator, fixtures, specs and internal.
src_hash=$(
  {
    echo "builder $builder"
    sha256sum Dockerfile .dockerignore go.mod go.sum
    find client cmd emulator fixtures specs internal -type f \
      ! -name '*_test.go' ! -path '*/testdata/*' -print0 2>/dev/null |
      sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
tag="$repo:src-$src_hash"

if ! docker image inspect "$tag" >/dev/null 2>&1; then
  docker build --force-rm --build-arg "BUILDER=$builder" -t "$tag" "$@" . >&2
  # The build stage's leftovers (hundreds of MB each, never reused since
  # every source change reruns go build); only ours carry this label.
  docker image prune -f --filter label=org.knogin.argus-sandbox.stage=build >/dev/null
fi
docker tag "$tag" "$repo:latest"
# Earlier source builds of this repository are superseded; keep the newest
# few (a developer may switch branches back) and drop the rest.
keep=${KEEP_IMAGES:-3}
docker image ls "$repo" --format '{{.Tag}} {{.CreatedAt}}' |
  awk '$1 ~ /^src-/' | sort -k2 -r | awk -v keep="$keep" 'NR > keep {print $1}' |
  while read -r old; do
    [ "$repo:$old" = "$tag" ] || docker image rm "$repo:$old" >/dev/null 2>&1 || true
  done
echo "$tag"
