#!/usr/bin/env bash
# Builds, on demand, a large release pair for benchmarks (never committed):
#
#   bash bench/make-large-image.sh OUTDIR [--files N] [--mb M] [--change PERCENT] [--keep-trees]
#
# OUTDIR/distro-large-1.00.iso and distro-large-1.01.iso, each built from scratch with
# `xorriso -as mkisofs -r -J`, N packages (default 50,000) whose payloads total M MiB
# (default 300; each package adds ~4 KiB of ar/tar headers and ~1 KiB of sector padding, so
# the default images are about 660 MB), in the Debian pool layout of the committed fixtures, with a Packages index. 1.01
# changes PERCENT of the packages (default 20: mostly upgrades whose payload is the old one
# with 3 local edits, plus downgrades, removals and additions) and always upgrades the first
# package of the pool, so every later file shifts. OUTDIR/CHANGES.json says what changed.
# The packages are real .deb files written in-process by fixtures/tools/large_tree.py (one
# process, streaming); five more are made by dpkg-deb (xz) so real tool output is in there too.
# Deterministic: the same arguments give the same bytes.
set -euo pipefail
export TZ=UTC LC_ALL=C
umask 022

usage() { echo "usage: bash bench/make-large-image.sh OUTDIR [--files N] [--mb M] [--change PERCENT] [--keep-trees]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
OUT=$1; shift
FILES=50000 MB=300 CHANGE=20 KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --files) FILES=${2:?}; shift 2 ;;
    --mb) MB=${2:?}; shift 2 ;;
    --change) CHANGE=${2:?}; shift 2 ;;
    --keep-trees) KEEP=1; shift ;;
    *) usage ;;
  esac
done
[[ $FILES =~ ^[0-9]+$ && $FILES -ge 10 ]] || { echo "make-large-image: --files must be a whole number >= 10, got \"$FILES\"" >&2; exit 2; }
[[ $MB =~ ^[0-9]+$ && $MB -ge 1 ]] || { echo "make-large-image: --mb must be a whole number >= 1, got \"$MB\"" >&2; exit 2; }
[[ $CHANGE =~ ^[0-9]+$ && $CHANGE -ge 1 && $CHANGE -le 90 ]] || { echo "make-large-image: --change must be 1-90, got \"$CHANGE\"" >&2; exit 2; }
for tool in xorriso dpkg-deb dpkg-scanpackages /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "make-large-image: $tool is missing (apt-get install xorriso dpkg-dev python3)" >&2; exit 2; }
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T100=1700000000 T101=1702419200   # the release dates of the committed fixtures
mkdir -p "$OUT"
WORK="$OUT/work"
rm -rf "$WORK"; mkdir -p "$WORK"
[[ $KEEP == 1 ]] || trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)

echo "make-large-image: writing $FILES packages" >&2
/usr/bin/python3 "$HERE/fixtures/tools/large_tree.py" "$WORK" "$FILES" $((MB * 1024 * 1024)) "$CHANGE" "$T100" "$T101"

# A handful of dpkg-deb packages: real-pkg-{a..e}; b and d are upgraded in 1.01.
real_deb() { # real_deb NAME VERSION PAYLOAD_SEED EPOCH TREE
  local root="$WORK/debroot-$1-$2" n=$1 v=$2
  mkdir -p "$root/DEBIAN" "$root/usr/share/$n"
  /usr/bin/python3 "$HERE/fixtures/tools/isofix.py" payload "large/$n" 1000000 "$WORK/$n.base"
  if [[ $3 == edit ]]; then
    /usr/bin/python3 "$HERE/fixtures/tools/isofix.py" edit "$WORK/$n.base" "large/$n/$v" "$root/usr/share/$n/$n.dat"
  else
    cp "$WORK/$n.base" "$root/usr/share/$n/$n.dat"
  fi
  printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: Isosync Bench <bench@isosync.invalid>\nDescription: real dpkg-deb package\n' "$n" "$v" > "$root/DEBIAN/control"
  find "$root" -exec touch -h -d "@$4" {} +
  mkdir -p "$5/pool/main/r/$n"
  SOURCE_DATE_EPOCH=$4 dpkg-deb --root-owner-group --build "$root" "$5/pool/main/r/$n/${n}_${v}_amd64.deb" >/dev/null
  touch -d "@$4" "$5/pool/main/r/$n/${n}_${v}_amd64.deb"
}
for n in a b c d e; do
  real_deb "real-pkg-$n" 1.0-1 plain "$T100" "$WORK/tree-1.00"
  if [[ $n == b || $n == d ]]; then
    real_deb "real-pkg-$n" 1.0-2 edit "$T101" "$WORK/tree-1.01"
  else
    mkdir -p "$WORK/tree-1.01/pool/main/r/real-pkg-$n"
    ln "$WORK/tree-1.00/pool/main/r/real-pkg-$n/real-pkg-${n}_1.0-1_amd64.deb" "$WORK/tree-1.01/pool/main/r/real-pkg-$n/"
  fi
done
for rel in 1.00 1.01; do
  t="$WORK/tree-$rel"; idx="$t/dists/stable/main/binary-amd64/Packages"
  (cd "$t" && dpkg-scanpackages pool/main/r /dev/null 2>/dev/null) | { printf '\n'; cat; } >> "$idx"
  gzip -9n < "$idx" > "$idx.gz"
done
/usr/bin/python3 - "$WORK/CHANGES.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
for n in ('b', 'd'):
    c['upgraded'].append({'name': f'real-pkg-{n}', 'arch': 'amd64', 'from': '1.0-1', 'to': '1.0-2'})
json.dump(c, open(p, 'w'), indent=1)
EOF

for rel in 1.00 1.01; do
  epoch=$T100; [[ $rel == 1.01 ]] && epoch=$T101
  find "$WORK/tree-$rel" -type d -exec touch -d "@$epoch" {} +
  touch -d "@$epoch" "$WORK/tree-$rel/.disk/info" "$WORK/tree-$rel"/dists/stable/main/binary-amd64/Packages*
  echo "make-large-image: xorriso $rel ($(( $(date +%s) - start )) s so far)" >&2
  SOURCE_DATE_EPOCH=$epoch xorriso -as mkisofs -quiet -no-pad -r -J -V "DISTRO_LARGE_${rel/./_}" \
    -o "$OUT/distro-large-$rel.iso" "$WORK/tree-$rel" 2>"$WORK/xorriso-$rel.log" \
    || { cat "$WORK/xorriso-$rel.log" >&2; exit 1; }
done
mv "$WORK/CHANGES.json" "$OUT/CHANGES.json"

echo "make-large-image: $(( $(date +%s) - start )) s" >&2
for rel in 1.00 1.01; do
  f="$OUT/distro-large-$rel.iso"
  echo "$f $(stat -c %s "$f") bytes, $(find "$WORK/tree-$rel" -type f 2>/dev/null | wc -l) files" >&2
done
