#!/usr/bin/env bash
# The backup uploader beside a plain S3 client (awscli, `aws s3 cp --recursive`) and Medusa
# (cassandra-medusa's S3 driver, its bandwidth cap lifted), the same concurrency and part size,
# on the same S3 server (versitygw on loopback, over a posix directory) and the same files; then
# a second backup of unchanged files, which sends nothing. Each Python client in its own venv.
# Prints the three side by side. Benchmarks print figures; they never assert on time.
#   bench/upload.sh <build dir holding bench/upload_bench>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
source "$root/versions.env"
parallelism=${BENCH_UPLOAD_PARALLELISM:-4}
cache=${RINGKEEPER_CACHE:-$HOME/.cache/ringkeeper}

# The server: versitygw on a free loopback port with fresh credentials, removed afterwards.
if [ -z "${S3_ENDPOINT:-}" ]; then
  exec bash "$root/hack/s3/with-versitygw.sh" bash "$0" "$@"
fi
port=${S3_ENDPOINT##*:}
venv="$cache/bench-awscli-$AWSCLI_VERSION"
if [ ! -x "$venv/bin/aws" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "awscli==$AWSCLI_VERSION"
fi
medusa_venv="$cache/bench-medusa-$MEDUSA_VERSION"
if [ ! -x "$medusa_venv/bin/medusa" ]; then
  python3 -m venv "$medusa_venv"
  "$medusa_venv/bin/pip" install -q "cassandra-medusa==$MEDUSA_VERSION"
fi
work=$(mktemp -d /tmp/ringkeeper-upload-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

ours=$("$build/bench/upload_bench" --endpoint "$S3_ENDPOINT" --dir "$work/files" \
  --parallelism "$parallelism")
echo "$ours"
figure() { echo "$ours" | awk -v n="$1" '$1 == "figure" && $2 == n { print $3 }'; }
total=$(figure total_bytes)

# awscli: the same files, as many requests at once, 16 MiB parts (the uploader's default).
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE="$work/aws-config"
printf '[default]\ns3 =\n  max_concurrent_requests = %s\n  multipart_chunksize = 16MB\n  multipart_threshold = 16MB\n' \
  "$parallelism" >"$AWS_CONFIG_FILE"
t0=$(date +%s%N)
"$venv/bin/aws" --endpoint-url "$S3_ENDPOINT" s3 cp --recursive --only-show-errors \
  "$work/files" "s3://bench/awscli/"
t1=$(date +%s%N)
aws_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
aws_rate=$(awk -v t="$total" -v s="$aws_s" 'BEGIN { printf "%.1f", t / 1048576 / s }')

printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" \
  "$S3_SECRET_KEY" >"$work/medusa-credentials"
medusa_s=$("$medusa_venv/bin/python" "$root/bench/medusa_upload.py" 127.0.0.1 "$port" bench \
  "$work/medusa-credentials" "$work/files" "$parallelism" 2>"$work/medusa.log" |
  awk '$1 == "figure" && $2 == "medusa_seconds" { print $3 }')
[ -n "$medusa_s" ] || { cat "$work/medusa.log" >&2; exit 1; }
medusa_rate=$(awk -v t="$total" -v s="$medusa_s" 'BEGIN { printf "%.1f", t / 1048576 / s }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

printf '\n%s files, %s bytes, %s at once, versitygw %s on loopback\n' "$(figure files)" "$total" \
  "$parallelism" "$VERSITYGW_VERSION"
printf '%-40s %12s %14s %14s\n' "measurement" "ringkeeper" "awscli $AWSCLI_VERSION" \
  "medusa $MEDUSA_VERSION"
printf '%-40s %12s %14s %14s\n' "first backup (s)" "$(figure first_seconds)" "$aws_s" "$medusa_s"
printf '%-40s %12s %14s %14s\n' "throughput (MiB/s)" "$(figure first_mib_per_s)" "$aws_rate" \
  "$medusa_rate"
printf '%-40s %12s %14s %14s\n' "ringkeeper's throughput, times theirs" "" \
  "$(ratio "$(figure first_mib_per_s)" "$aws_rate")" "$(ratio "$(figure first_mib_per_s)" "$medusa_rate")"
printf '%-40s %12s %14s %14s\n' "unchanged files: bytes sent again" "$(figure second_bytes_sent)" "-" "-"
printf '%-40s %12s %14s %14s\n' "unchanged files: second backup (s)" "$(figure second_seconds)" "-" "-"
echo "(ringkeeper hashes every file and names it by content; awscli and Medusa's driver only send.)"
