"""The service's public paths that both the routes and the command line name.

Kept apart from ``gateway/http/`` so that ``milesgate serve`` can print them without importing the routes
(the rooms test keeps the command line and the HTTP room apart)."""

GRAPHIQL_PATH = "/graphiql"
ADMIN_GRAPHIQL_PATH = "/admin/graphiql"
"""The same page for the operators' schema: the bundle sends its requests to ``/admin/graphql`` when it is
opened here."""
