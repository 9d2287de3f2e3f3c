// GraphiQL for milesgate's developers: served by the gateway itself in development, no CDN.
import { createGraphiQLFetcher, createLocalStorage } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import "./page.css";
import { parse } from "graphql";
import { createClient } from "graphql-ws";
import { createRoot } from "react-dom/client";
import React from "react";
// The README's "First ten minutes" opens with this document (tests/test_newcomer.py keeps them equal).
import firstDocument from "./first-document.graphql";

const STATIC = "/graphiql/static";

// Monaco's language workers, bundled next to this file (the CSP allows workers from 'self' only).
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const name = label === "json" ? "json" : label === "graphql" ? "graphql" : "editor";
    return new Worker(`${STATIC}/${name}.worker.js`);
  },
};

// /admin/graphiql is the same page for the operators' schema (operator token in the headers tab).
const admin = window.location.pathname.startsWith("/admin/");
const endpoint = new URL(admin ? "/admin/graphql" : "/graphql", window.location.href);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

function bearer(headers) {
  const value = headers?.Authorization ?? headers?.authorization;
  return typeof value === "string" ? value : undefined;
}

const fetcher = createGraphiQLFetcher({ url: endpoint.href });

// The names of a document's operations; null when it does not parse (the server then says why).
function operationNames(query) {
  try {
    return parse(query)
      .definitions.filter((definition) => definition.kind === "OperationDefinition" && definition.name)
      .map((definition) => definition.name.value);
  } catch {
    return null;
  }
}

// GraphiQL can send the operation name of the document the editor held before: open the page (its first
// document is the named "mutation Enrol"), replace it with an anonymous "{ rewards { code } }" and run it,
// and the request still says operationName "Enrol", which the server rightly refuses. Send the name only
// when the document has an operation of that name (or the document's only named operation).
function withCurrentOperationName(params) {
  if (!params.operationName) {
    return params;
  }
  const names = operationNames(params.query ?? "");
  if (names === null || names.includes(params.operationName)) {
    return params;
  }
  return { ...params, operationName: names.length === 1 ? names[0] : undefined };
}

// Subscriptions sign in at connection time: the Authorization header set in GraphiQL's headers tab
// goes into connection_init, as milesgate expects.
function fetcherWithLiveUpdates(given, options) {
  const params = withCurrentOperationName(given);
  const isSubscription = /^\s*subscription\b/m.test(params.query ?? "");
  if (!isSubscription) {
    return fetcher(params, options);
  }
  const client = createClient({
    url: socket.href,
    lazy: true,
    connectionParams: () => ({ authorization: bearer(options?.headers) }),
  });
  return client.iterate(params);
}

const ADMIN_DEFAULT_QUERY =
  "# milesgate operators' schema: mint a token with `milesgate operators token --name you`, then set\n# {\"Authorization\": \"Bearer …\"}\n\n{\n  partners {\n    code\n    name\n    state\n  }\n}\n";

createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher: fetcherWithLiveUpdates,
    defaultQuery: admin ? ADMIN_DEFAULT_QUERY : firstDocument,
    shouldPersistHeaders: false,
    // The two pages share an origin: each keeps its own tabs and history.
    storage: createLocalStorage({ namespace: admin ? "graphiql-admin" : "graphiql" }),
  }),
);
