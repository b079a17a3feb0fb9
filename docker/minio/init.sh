#!/bin/sh
# One-shot `minio-init` job of docker-compose.yaml (minio/mc image): create the lake buckets, turn on
# versioning for bronze, and create the least-privilege pipeline user that Airflow and Spark use
# (never the root credentials) and the read-only user of the dashboard's Lake source. Idempotent: safe to re-run on an existing MinIO.
# Plain POSIX sh and shell built-ins only besides `mc`: the minio/mc image is minimal.
#
# Environment: MINIO_ROOT_USER, MINIO_ROOT_PASSWORD (admin, used only here), MINIO_PIPELINE_USER,
# MINIO_PIPELINE_PASSWORD (the pipeline's access key / secret key), MINIO_READER_USER,
# MINIO_READER_PASSWORD (read-only on silver and gold), LAKE_BUCKET_PREFIX (optional, in
# front of every bucket name), MINIO_URL [http://minio:9000].
set -eu

: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is not set}"
: "${MINIO_PIPELINE_USER:?MINIO_PIPELINE_USER is not set}"
: "${MINIO_PIPELINE_PASSWORD:?MINIO_PIPELINE_PASSWORD is not set}"
: "${MINIO_READER_USER:?MINIO_READER_USER is not set}"
: "${MINIO_READER_PASSWORD:?MINIO_READER_PASSWORD is not set}"
prefix="${LAKE_BUCKET_PREFIX:-}"
layers="sources bronze silver gold quality"
policy="${TMPDIR:-/tmp}/medallion-pipeline-policy.$$.json"
reader_policy="${TMPDIR:-/tmp}/medallion-reader-policy.$$.json"
trap 'rm -f "$policy" "$reader_policy"' EXIT

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
# The dashboard reads committed silver and gold (Delta logs, Parquet files, documents): list and get only.
cat >"$reader_policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ListServedBuckets",
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
      "Resource": ["arn:aws:s3:::${prefix}silver", "arn:aws:s3:::${prefix}gold"]
    },
    {
      "Sid": "ReadServedObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject"],
      "Resource": ["arn:aws:s3:::${prefix}silver/*", "arn:aws:s3:::${prefix}gold/*"]
    }
  ]
}
JSON

# user, password, policy name, policy file
add_user() {
  mc admin policy create lake "$3" "$4"
  mc admin user add lake "$1" "$2"
  # Attaching an already attached policy is an error in mc: accept exactly that case.
  if ! out="$(mc admin policy attach lake "$3" --user "$1" 2>&1)"; then
    case "$out" in
      *"already attached"*) ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  echo "minio-init: user $1 has policy $3"
}
add_user "$MINIO_PIPELINE_USER" "$MINIO_PIPELINE_PASSWORD" medallion-pipeline "$policy"
add_user "$MINIO_READER_USER" "$MINIO_READER_PASSWORD" medallion-reader "$reader_policy"
echo "minio-init: buckets ready"
