#!/usr/bin/env bash
# Fetch the S3A jars from Maven Central by coordinates (with mvn) into a folder, for Spark's classpath.
#
#   scripts/fetch-jars.sh [DEST_DIR]
#
# Resolves org.apache.hadoop:hadoop-aws:$HADOOP_AWS_VERSION with its compile and runtime dependencies
# as its own POM declares them (the AWS SDK v2 `bundle`, the S3 analytics accelerator, wildfly-openssl),
# exactly what `spark.jars.packages` would download at run time, and copies the jars to DEST_DIR.
# The same script runs in the Dockerfile's build stage and in the tests (local S3 mode).
#
# Settings (defaults in brackets):
#   HADOOP_AWS_VERSION      [3.4.2]    must equal the hadoop-client-api bundled with the pinned pyspark
#   AWS_SDK_BUNDLE_VERSION  [2.29.52]  the software.amazon.awssdk:bundle version hadoop-aws's POM
#                                      depends on; the script fails if the POM says otherwise
#   DEST_DIR (argument) or S3A_JARS_DIR  [./.cache/jars/s3a-<HADOOP_AWS_VERSION>]
#   MAVEN_REPO_LOCAL        [mvn's default, ~/.m2/repository]  local Maven cache
#
# Idempotent: a folder that already holds a complete fetch of the same versions is kept as it is.
# On success the last line of stdout is the comma-separated list of the jars' absolute paths.
set -euo pipefail

hadoop_aws_version="${HADOOP_AWS_VERSION:-3.4.2}"
bundle_version="${AWS_SDK_BUNDLE_VERSION:-2.29.52}"
dest="${1:-${S3A_JARS_DIR:-./.cache/jars/s3a-${hadoop_aws_version}}}"
# maven-dependency-plugin pinned: Maven's built-in default is an old release.
dependency_plugin="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
stamp_text="hadoop-aws=${hadoop_aws_version} bundle=${bundle_version}"

command -v mvn >/dev/null 2>&1 || {
  echo "fetch-jars.sh: mvn (Apache Maven) is required to fetch the S3A jars from Maven Central" >&2
  exit 1
}

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
stamp="$dest/.fetched"

list_jars() { find "$dest" -maxdepth 1 -name '*.jar' | LC_ALL=C sort | paste -sd, -; }

if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$stamp_text" ] \
    && [ -f "$dest/hadoop-aws-${hadoop_aws_version}.jar" ] && [ -f "$dest/bundle-${bundle_version}.jar" ]; then
  echo "S3A jars already fetched in $dest ($stamp_text)" >&2
  list_jars
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>medallion</groupId>
  <artifactId>s3a-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.hadoop</groupId>
      <artifactId>hadoop-aws</artifactId>
      <version>${hadoop_aws_version}</version>
    </dependency>
  </dependencies>
</project>
POM

mvn_args=(-B -q -Dstyle.color=never -f "$work/pom.xml")
[ -n "${MAVEN_REPO_LOCAL:-}" ] && mvn_args+=("-Dmaven.repo.local=${MAVEN_REPO_LOCAL}")

echo "Resolving org.apache.hadoop:hadoop-aws:${hadoop_aws_version} and its dependencies (Maven Central)" >&2
# First resolve the dependency list (POMs only) and check the AWS SDK bundle version the POM declares,
# so a wrong pin fails before 640 MB of jars are copied.
mvn "${mvn_args[@]}" "${dependency_plugin}:list" -DincludeScope=runtime -DoutputFile="$work/deps.txt" >&2
declared="$(sed -n 's/^ *software\.amazon\.awssdk:bundle:jar:\([^:]*\):.*/\1/p' "$work/deps.txt")"
if [ "$declared" != "$bundle_version" ]; then
  echo "fetch-jars.sh: hadoop-aws ${hadoop_aws_version} depends on AWS SDK bundle-${declared:-<none>}.jar, not the" \
       "pinned bundle-${bundle_version}.jar: set AWS_SDK_BUNDLE_VERSION (and the Dockerfile ARG) to the POM's version" >&2
  exit 1
fi

echo "Copying the jars into $dest" >&2
rm -f "$stamp" "$dest"/*.jar
mvn "${mvn_args[@]}" "${dependency_plugin}:copy-dependencies" \
  -DincludeScope=runtime -DoutputDirectory="$dest" -DoverWriteReleases=true >&2
for jar in "hadoop-aws-${hadoop_aws_version}.jar" "bundle-${bundle_version}.jar"; do
  if [ ! -f "$dest/$jar" ]; then
    echo "fetch-jars.sh: $jar is missing from $dest after the fetch" >&2
    exit 1
  fi
done
printf '%s\n' "$stamp_text" >"$stamp"
(cd "$dest" && find . -maxdepth 1 -name "*.jar" -printf "%f\n" | LC_ALL=C sort) >>"$stamp"
list_jars
