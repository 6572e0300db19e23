"""Machinery every model family shares.

Registry, learned-model registration, weights on disk, the torch frame wrapper and the
encodings networks learn in.
"""
