"""The web console (issue 16): an ASGI app, a client of the gateway as `delegate`."""
