#!/bin/sh
# Entry point of the export image: export the model once, then stay out of the way:
# from $LAMA_CHECKPOINT when that file exists, else from the released big-lama, fetched
# and verified (LAMA_MODEL_URL/_MD5/_SHA256 for a mirror; fails rather than export noise).
# The watermark detector models are exported first when missing (a failure only warns).
# Exits 0 without work when any version of the model already has a model.onnx, so
# `docker compose up` can run it before Triton every time. Extra arguments go to
# `lama-serve export` (e.g. --precision fp16, --trust-checkpoint).
set -eu

repository="${MODEL_REPOSITORY:-/models}"
model="${MODEL_NAME:-lama}"
checkpoint="${LAMA_CHECKPOINT:-/checkpoints/big-lama.pt}"
version="${EXPORT_MODEL_VERSION:-1}"

# The watermark detector models, once each (seconds: copies and a graph edit); a failure
# only warns: the gateway then detects without that model, and Triton does not load it.
for detector in watermark_text watermark_seg; do
  found=""
  for existing in "$repository/$detector"/[0-9]*/model.onnx; do
    [ -f "$existing" ] && found="$existing"
  done
  if [ -z "$found" ]; then
    lama-serve detector export --repository "$repository" --model "$detector" \
      || echo "export: WARNING: $detector not exported; watermark detection runs without it" >&2
  fi
done

for existing in "$repository/$model"/[0-9]*/model.onnx; do
  if [ -f "$existing" ]; then
    echo "export: $existing exists, nothing to do"
    exit 0
  fi
done

if [ -f "$checkpoint" ]; then
  echo "export: $checkpoint -> $repository/$model/$version/model.onnx"
  exec lama-serve export --checkpoint "$checkpoint" --repository "$repository" --model-version "$version" "$@"
fi

# No checkpoint: the released weights, verified, cached next to the models (never in the image).
export WEIGHTS_CACHE_DIR="${WEIGHTS_CACHE_DIR:-$repository/.weights}"
echo "export: no checkpoint at $checkpoint: fetching the released big-lama into $WEIGHTS_CACHE_DIR"
echo "export: -> $repository/$model/$version/model.onnx"
exec lama-serve export --fetch big-lama --repository "$repository" --model-version "$version" "$@"
