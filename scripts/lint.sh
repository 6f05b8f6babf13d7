#!/usr/bin/env bash
# lint.sh - project rules that a compiler does not check:
#  - no sprintf, strcpy, strcat, strtok, atoi, gets in C sources (STYLE.md)
#  - every C file starts with a comment paragraph saying what it is for
set -u
cd "$(dirname "$0")/.."
status=0
banned=$(grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets)\s*\(' $(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]') 2>/dev/null | grep -v 'snprintf\|vsnprintf' || true)
if [ -n "$banned" ]; then
    echo "lint: banned calls (see STYLE.md):"
    echo "$banned"
    status=1
fi
for f in $(git ls-files 'src/*.c' 'src/*.h' 2>/dev/null); do
    if ! head -n 3 "$f" | grep -q '^/\*'; then
        echo "lint: $f does not start with a comment saying what it is for"
        status=1
    fi
done
[ $status -eq 0 ] && echo "lint: ok"
exit $status
