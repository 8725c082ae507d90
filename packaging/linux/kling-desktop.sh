#!/bin/sh
# /usr/bin/kling-desktop: start the bundled app installed under /opt/kling-desktop.
exec /opt/kling-desktop/kling-desktop "$@"
