#!/usr/bin/env bash
# Re-create web/static/vendor from the npm registry. Run by hand when a version changes;
# the result is committed, so the app never fetches anything at run time.
# Each entry: package@version, then the files to keep (paths inside the package).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

vendor() {
    local spec=$1; shift
    local name=${spec%@*} version=${spec##*@}
    local out="$dest/${name#@*/}@$version"
    (cd "$work" && npm pack --silent "$spec" >/dev/null)
    local tgz
    tgz=$(ls "$work"/*.tgz)
    mkdir -p "$work/x" && tar -xzf "$tgz" -C "$work/x"
    rm -rf "$out" && mkdir -p "$out"
    for f in "$@"; do
        mkdir -p "$out/$(dirname "$f")"
        cp -r "$work/x/package/$f" "$out/$f"
    done
    cp "$work/x/package/package.json" "$out/package.json"
    for lic in LICENSE LICENSE.md LICENSE.txt LICENCE license MIT-LICENSE.txt MIT-LICENCE.txt; do
        [ -f "$work/x/package/$lic" ] && cp "$work/x/package/$lic" "$out/"
    done
    rm -rf "$work/x" "$tgz"
    echo "vendored $spec"
}

vendor leaflet@1.9.3 dist/leaflet.js dist/leaflet.css dist/images
vendor jquery@3.7.1 dist/jquery.min.js
vendor bootstrap@5.2.2 dist/js/bootstrap.bundle.min.js dist/css/bootstrap.min.css
vendor leaflet.awesome-markers@2.0.5 dist/leaflet.awesome-markers.js dist/leaflet.awesome-markers.css dist/images
vendor @fortawesome/fontawesome-free@6.2.0 css/all.min.css webfonts
vendor leaflet.markercluster@1.5.3 dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css
vendor leaflet.vectorgrid@1.3.0 dist/Leaflet.VectorGrid.bundled.min.js
vendor leaflet.fullscreen@3.0.0 Control.FullScreen.css Control.FullScreen.js icon-fullscreen.svg
vendor leaflet.locatecontrol@0.79.0 dist/L.Control.Locate.min.css dist/L.Control.Locate.min.js
vendor leaflet.control.layers.tree@1.1.0 L.Control.Layers.Tree.css L.Control.Layers.Tree.js
vendor @geoman-io/leaflet-geoman-free@2.17.0 dist/leaflet-geoman.css dist/leaflet-geoman.min.js
vendor swagger-ui-dist@5.17.14 swagger-ui-bundle.js swagger-ui.css favicon-32x32.png
find "$dest" -name '*.map' -delete
