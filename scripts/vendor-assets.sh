#!/bin/sh
# Copy the front-end libraries installed by `npm ci` into static/vendor/ (served, never committed).
set -eu
cd "$(dirname "$0")/.."
vendor=static/vendor
rm -rf "$vendor"
mkdir -p "$vendor/novnc" "$vendor/xterm" "$vendor/htmx" "$vendor/bootstrap"
# noVNC ships native ES modules that import vendor/pako by relative path: keep both trees.
cp -r node_modules/@novnc/novnc/core node_modules/@novnc/novnc/vendor "$vendor/novnc/"
cp node_modules/@xterm/xterm/lib/xterm.mjs node_modules/@xterm/xterm/css/xterm.css \
   node_modules/@xterm/addon-fit/lib/addon-fit.mjs "$vendor/xterm/"
cp node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx/"
cp node_modules/bootstrap/dist/css/bootstrap.min.css \
   node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$vendor/bootstrap/"
touch "$vendor/.copied"
