#!/usr/bin/env bash
# run.sh short|long - builds every tests/fuzz/fuzz_*.c as a libFuzzer target
# (clang, ASan+UBSan) and runs each one from its seed corpus in
# tests/fuzz/corpus/<target>/ (copied, so the committed seeds stay as they are).
#   short: FUZZ_SECONDS (default 10) per target, inside `make check`
#   long:  FUZZ_SECONDS (default 300) per target, for `make fuzz`
# A crash leaves its input in fuzz-out/<target>/; add it to the corpus as a
# regression case once fixed. Last line: "N passed, M failed".
set -u
mode=${1:-short}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if [ "$mode" = long ]; then secs=${FUZZ_SECONDS:-300}; else secs=${FUZZ_SECONDS:-10}; fi
if ! command -v clang >/dev/null; then
    echo "fuzz: clang is missing (make deps installs it)"; echo "0 passed, 1 failed"; exit 1
fi
build=build-fuzz
make -s BUILD=$build CC=clang SAN=address,undefined OPT=-O1 \
    CFLAGS="-fsanitize=fuzzer-no-link -DVG_FUZZING" $build/libvigil.a >/dev/null || {
    echo "fuzz: library build failed"; echo "0 passed, 1 failed"; exit 1; }
libs=$(make -s --no-print-directory print-libs 2>/dev/null)
passed=0 failed=0
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    bin=$build/fuzz/$name
    mkdir -p "$build/fuzz" "fuzz-out/$name"
    if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -I$build/gen -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all "$src" $build/libvigil.a $libs -o "$bin"; then
        echo "fuzz: $name does not build"; failed=$((failed + 1)); continue
    fi
    work=$(mktemp -d)
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    # per-target libFuzzer flags, one per line (e.g. fork mode for a target
    # whose third-party library leaks)
    [ -f "tests/fuzz/$name.options" ] && mapfile -t -O "${#dict[@]}" dict < <(grep -v '^#' "tests/fuzz/$name.options")
    if "$bin" "$work" "${dict[@]}" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz-out/$name/" -print_final_stats=0 >"fuzz-out/$name.log" 2>&1; then
        printf '%-24s ok (%s s, %s inputs)\n' "$name" "$secs" "$(ls "$work" | wc -l)"
        passed=$((passed + 1))
    else
        printf '%-24s CRASH, see fuzz-out/%s.log\n' "$name" "$name"
        grep -E 'ERROR|SUMMARY|runtime error' "fuzz-out/$name.log" | head -5
        failed=$((failed + 1))
    fi
    rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
