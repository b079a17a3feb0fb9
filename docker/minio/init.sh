#!/bin/sh
# One-shot `minio-init` job of docker-compose.yaml (minio/mc image): create the lake buckets, turn on
# versioning for bronze, and create the least-privilege pipeline user that Airflow and Spark use
# (never the root credentials). Idempotent: safe to re-run on an existing MinIO.
# Plain POSIX sh and shell built-ins only besides `mc`: the minio/mc image is minimal.
#
# Environment: MINIO_ROOT_USER, MINIO_ROOT_PASSWORD (admin, used only here), MINIO_PIPELINE_USER,
# MINIO_PIPELINE_PASSWORD (the pipeline's access key / secret key), LAKE_BUCKET_PREFIX (optional, in
# front of every bucket name), MINIO_URL [http://minio:9000].
set -eu

: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is not set}"
: "${MINIO_PIPELINE_USER:?MINIO_PIPELINE_USER is not set}"
: "${MINIO_PIPELINE_PASSWORD:?MINIO_PIPELINE_PASSWORD is not set}"
prefix="${LAKE_BUCKET_PREFIX:-}"
layers="sources bronze silver gold quality"
policy="${TMPDIR:-/tmp}/medallion-pipeline-policy.$$.json"
trap 'rm -f "$policy"' EXIT

mc alias set lake "${MINIO_URL:-http://minio:9000}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"

for layer in $layers; do
  mc mb --ignore-existing "lake/${prefix}${layer}"
done
# Bronze is the immutable raw archive: keep every version of every object.
mc version enable "lake/${prefix}bronze"

# Least privilege: list the lake buckets, read/write/delete their objects; nothing else (no bucket
# creation or deletion, no policy or admin actions, no other bucket).
buckets=""
objects=""
for layer in $layers; do
  buckets="${buckets:+$buckets, }\"arn:aws:s3:::${prefix}${layer}\""
  objects="${objects:+$objects, }\"arn:aws:s3:::${prefix}${layer}/*\""
done
cat >"$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ListLakeBuckets",
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"],
      "Resource": [${buckets}]
    },
    {
      "Sid": "ReadWriteLakeObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": [${objects}]
    }
  ]
}
JSON
mc admin policy create lake medallion-pipeline "$policy"
mc admin user add lake "$MINIO_PIPELINE_USER" "$MINIO_PIPELINE_PASSWORD"
# Attaching an already attached policy is an error in mc: accept exactly that case.
if ! out="$(mc admin policy attach lake medallion-pipeline --user "$MINIO_PIPELINE_USER" 2>&1)"; then
  case "$out" in
    *"already attached"*) ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
fi
echo "minio-init: buckets ready, user ${MINIO_PIPELINE_USER} has policy medallion-pipeline"
