"""GraphQL serving: the view, the edge (limits, safelist, persisted queries, rate limits) for HTTP and
WebSocket alike, and the federation router's credential. ``engine/`` is the only place that touches
Strawberry's or graphql-core's internals, and can be switched off (``MILESGATE_GRAPHQL_FAST_PATH``)."""
