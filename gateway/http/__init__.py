"""The routes that are not GraphQL: partner webhooks, Travel ID, member uploads, GraphiQL's page, health."""
