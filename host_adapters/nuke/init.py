"""Nuke runs this at start-up from a NUKE_PATH folder: make hdr_plugin importable."""

import os

import nuke

site = os.environ.get("HDR_PLUGIN_SITE")
if site:
    nuke.pluginAddPath(site)
