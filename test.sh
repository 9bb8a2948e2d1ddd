#!/usr/bin/env bash
# The project's test command: formatting, vet, and every test under the race
# detector. Root-only tests skip, saying why, when not run as root.
set -euo pipefail
cd "$(dirname "$0")"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
if git grep -nE '^(<<<<<<<|>>>>>>>) ' -- ':!*.md' 2>/dev/null; then
	echo "merge conflict markers left in the files above"; exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
