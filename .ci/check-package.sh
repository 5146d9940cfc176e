#!/usr/bin/env bash
# Checks what `npm pack` would publish: builds the package, prints the packed file list, and fails when
# it holds a test, a test helper or contract suite, or a module importing a devDependency (which an
# installation from the registry does not have, so such a module would fail at load time).
set -euo pipefail
cd "$(dirname "$0")/.."

npm run build
# --ignore-scripts: the build ran above; prepack's output would otherwise interleave with the JSON.
files=$(npm pack --dry-run --json --ignore-scripts | node -e '
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => { for (const file of JSON.parse(text)[0].files) console.log(file.path); });')
echo "$files"
echo "($(wc -l <<<"$files") files)"

status=0
testish=$(grep -E '(\.test\.|\.contract\.|(^|/)testing/|(^|/)support/)' <<<"$files" || true)
if [[ -n "$testish" ]]; then
  echo "error: the package contains test files:" >&2
  echo "$testish" >&2
  status=1
fi

modules=$(grep -E '\.js$' <<<"$files" || true)
for dep in $(node -p "Object.keys(require('./package.json').devDependencies ?? {}).join(' ')"); do
  name=${dep//./\\.}
  # `from 'dep'`, `import 'dep'`, `import('dep')`, `require('dep')`, also of a subpath `dep/...`.
  importers=$(xargs -r grep -lE "(from|import|require)[[:space:]]*\(?[[:space:]]*['\"]${name}(/[^'\"]*)?['\"]" <<<"$modules" || true)
  if [[ -n "$importers" ]]; then
    echo "error: packed modules import the devDependency $dep:" >&2
    echo "$importers" >&2
    status=1
  fi
done
exit "$status"
