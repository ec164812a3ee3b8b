#!/bin/sh
# Entry point of the export image: export the model once, then stay out of the way.
# Exits 0 without work when any version of the model already has a model.onnx, so
# `docker compose up` can run it before Triton every time. Extra arguments go to
# `lama-serve export` (e.g. --precision fp16, --trust-checkpoint).
set -eu

repository="${MODEL_REPOSITORY:-/models}"
model="${MODEL_NAME:-lama}"
checkpoint="${LAMA_CHECKPOINT:-/checkpoints/big-lama.pt}"
version="${EXPORT_MODEL_VERSION:-1}"

for existing in "$repository/$model"/[0-9]*/model.onnx; do
  if [ -f "$existing" ]; then
    echo "export: $existing exists, nothing to do"
    exit 0
  fi
done

if [ ! -f "$checkpoint" ]; then
  echo "export: no model in $repository/$model and no checkpoint at $checkpoint" >&2
  echo "export: put big-lama.pt in \$LAMA_CHECKPOINT_DIR (default ./checkpoints), see docs/deploy.md" >&2
  exit 1
fi

echo "export: $checkpoint -> $repository/$model/$version/model.onnx"
exec lama-serve export --checkpoint "$checkpoint" --repository "$repository" --model-version "$version" "$@"
