"""Standalone host: the adapter the viewer app and scripts use."""

from hdr_plugin.host_adapters.standalone.adapter import StandaloneAdapter

__all__ = ["StandaloneAdapter"]
