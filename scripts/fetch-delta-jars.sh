#!/usr/bin/env bash
# Fetch the Delta Lake jars for Spark from Maven Central by coordinates (with mvn) into a folder.
#
#   scripts/fetch-delta-jars.sh [DEST_DIR]
#
# Copies io.delta:delta-spark_<SPARK_LINE>_2.13:<DELTA_VERSION> and io.delta:delta-storage:<DELTA_VERSION>,
# the two jars Delta's own "--packages" quickstart puts on Spark's classpath (everything else they need is
# already in Spark). The versions must be those of the installed pip packages: the jars are called by the
# delta-spark Python package, and a jar for another Spark line does not load.
#
# Settings (defaults in brackets):
#   DELTA_VERSION  [the installed delta-spark pip package's version]
#   SPARK_LINE     [major.minor of the installed pyspark, e.g. 4.1]
#   PYTHON         [python3]  interpreter that has the packages (used only for the two defaults)
#   DEST_DIR (argument) or DELTA_JARS_DIR  [./.cache/jars/delta]
#   MAVEN_REPO_LOCAL  [mvn's default, ~/.m2/repository]
#
# Idempotent: a folder that already holds both jars is kept as it is; Delta jars of other versions in it
# are removed (two versions on one classpath do not work). The Dockerfile runs this script in
# its build stage (with both versions given) and `make install` runs it after pip.
set -euo pipefail

python="${PYTHON:-python3}"
pip_version() { "$python" -c "import importlib.metadata as m; print(m.version('$1'))"; }
delta_version="${DELTA_VERSION:-$(pip_version delta-spark)}"
spark_line="${SPARK_LINE:-$(pip_version pyspark | cut -d. -f1,2)}"
dest="${1:-${DELTA_JARS_DIR:-./.cache/jars/delta}}"
jars=("delta-spark_${spark_line}_2.13-${delta_version}.jar" "delta-storage-${delta_version}.jar")
coordinates=("io.delta:delta-spark_${spark_line}_2.13:${delta_version}" "io.delta:delta-storage:${delta_version}")

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
for stale in "$dest"/delta-*.jar; do
  [ -e "$stale" ] || continue
  case "${stale##*/}" in "${jars[0]}"|"${jars[1]}") ;; *) echo "removing $stale (another version)" >&2; rm -f "$stale" ;; esac
done
if [ -f "$dest/${jars[0]}" ] && [ -f "$dest/${jars[1]}" ]; then
  echo "Delta Lake jars already in $dest" >&2
  exit 0
fi
command -v mvn >/dev/null 2>&1 || {
  echo "fetch-delta-jars.sh: mvn (Apache Maven) is required to fetch the Delta Lake jars from Maven Central" >&2
  exit 1
}
mvn_args=(-B -q -Dstyle.color=never)
[ -n "${MAVEN_REPO_LOCAL:-}" ] && mvn_args+=("-Dmaven.repo.local=${MAVEN_REPO_LOCAL}")
for coordinate in "${coordinates[@]}"; do
  echo "Fetching $coordinate (Maven Central)" >&2
  mvn "${mvn_args[@]}" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$coordinate" -DoutputDirectory="$dest" >&2
done
for jar in "${jars[@]}"; do
  [ -f "$dest/$jar" ] || { echo "fetch-delta-jars.sh: $jar is missing from $dest after the fetch" >&2; exit 1; }
done
echo "Delta Lake jars in $dest: ${jars[*]}" >&2
