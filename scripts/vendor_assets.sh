#!/usr/bin/env bash
# Re-create web/static/vendor from the npm registry. Run by hand when a version changes;
# the result is committed, so the app never fetches anything at run time.
# What is vendored is listed once, in VENDORED of web/assets.py: this script reads that list
# (`python -m web.assets`: spec, folder, files, licence files) and writes VENDORED.md from it.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
dest=web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

vendor() {
    local spec=$1 folder=$2 files=$3 licences=$4
    local out="$dest/$folder"
    (cd "$work" && npm pack --silent "$spec" >/dev/null)
    local tgz
    tgz=$(ls "$work"/*.tgz)
    mkdir -p "$work/x" && tar -xzf "$tgz" -C "$work/x"
    rm -rf "$out" && mkdir -p "$out"
    for f in $files; do
        mkdir -p "$out/$(dirname "$f")"
        cp -r "$work/x/package/$f" "$out/$f"
    done
    cp "$work/x/package/package.json" "$out/package.json"
    local found=0
    for lic in LICENSE LICENSE.md LICENSE.txt LICENCE license MIT-LICENSE.txt MIT-LICENCE.txt $licences; do
        if [ -f "$work/x/package/$lic" ]; then cp "$work/x/package/$lic" "$out/"; found=1; fi
    done
    if [ "$found" = 0 ]; then
        echo "no licence text in $spec: name the file that holds it in web/assets.py" >&2
        exit 1
    fi
    rm -rf "$work/x" "$tgz"
    echo "vendored $spec"
}

manifest=$("$python" -m web.assets)
# Folders of packages no longer listed go too: nothing is shipped that the list does not name.
for existing in "$dest"/*/; do
    name=$(basename "$existing")
    grep -q -P "\t\Q$name\E\t" <<<"$manifest" || { rm -rf "$existing"; echo "removed $name"; }
done
while IFS=$'\t' read -r spec folder files licences; do
    vendor "$spec" "$folder" "$files" "$licences"
done <<<"$manifest"
find "$dest" -name '*.map' -delete
"$python" -m web.assets --markdown >"$dest/VENDORED.md"
