"""Our own asyncio Event Socket (ESL) implementation: parser, client, outbound server."""
