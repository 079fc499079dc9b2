#!/usr/bin/env bash
# push-demo-image.sh pushes a tiny image to a registry with curl alone, so the
# README's discovery walk-through has something to discover on a machine
# without docker. The image is not runnable: one small layer and a config,
# enough for a registry to list the repository and its tags.
#
#   scripts/push-demo-image.sh http://127.0.0.1:5000 demo/api 1.0 1.1
#
# Each tag gets its own manifest (an annotation names it), hence its own
# digest, as real tags usually have. Anonymous registries only.
set -euo pipefail

if [ "$#" -lt 3 ]; then
	echo "usage: $0 <registry URL> <repository> <tag>..." >&2
	echo "   eg: $0 http://127.0.0.1:5000 demo/api 1.0 1.1" >&2
	exit 2
fi
registry=${1%/}
repo=$2
shift 2

if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum | cut -d' ' -f1; }
else
	sha256() { shasum -a 256 | cut -d' ' -f1; } # macOS
fi

# curl_ok runs curl and fails, with the registry's answer, unless it is 2xx.
curl_ok() {
	local out
	if ! out=$(curl -sS --fail-with-body "$@"); then
		echo "push-demo-image: curl $*: ${out:-no answer}" >&2
		return 1
	fi
	printf '%s' "$out"
}

# upload_blob sends one blob: POST opens an upload, PUT with the digest
# closes it (a monolithic upload).
upload_blob() {
	local content=$1 digest location
	digest="sha256:$(printf '%s' "$content" | sha256)"
	location=$(curl_ok -D - -o /dev/null -X POST "$registry/v2/$repo/blobs/uploads/" |
		tr -d '\r' | awk 'tolower($1) == "location:" { print $2; exit }')
	if [ -z "$location" ]; then
		echo "push-demo-image: the registry gave no upload location for $repo" >&2
		return 1
	fi
	case $location in
	/*) location=$registry$location ;;
	esac
	case $location in
	*\?*) location="$location&digest=$digest" ;;
	*) location="$location?digest=$digest" ;;
	esac
	curl_ok -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary "$content" "$location" >/dev/null
	printf '%s' "$digest"
}

layer="demo layer of $repo"
config='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
layer_digest=$(upload_blob "$layer")
config_digest=$(upload_blob "$config")

for tag in "$@"; do
	manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"%s"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d,"digest":"%s"}],"annotations":{"org.opencontainers.image.ref.name":"%s:%s"}}' \
		"${#config}" "$config_digest" "${#layer}" "$layer_digest" "$repo" "$tag")
	curl_ok -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "$manifest" "$registry/v2/$repo/manifests/$tag" >/dev/null
	echo "pushed $repo:$tag"
done
