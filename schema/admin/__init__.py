"""The operators' schema, served at ``/admin/graphql`` (operator tokens only), apart from the members'."""
