"""Host adapters (Nuke-style node, standalone viewer); they import the core and ui."""
