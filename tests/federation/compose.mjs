// Composes the subgraphs given on standard input with Apollo's composition library, as a
// Federation 2 router's build step does. Input: {"subgraphs": [{"name", "url", "sdl"}, ...]}.
// Output: {"errors": [messages]} or {"supergraphSdl": "..."}; exit code 1 when composition fails.
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const input = JSON.parse(readFileSync(0, "utf8"));
const services = input.subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) }));
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  process.stdout.write(JSON.stringify({ errors: result.errors.map((error) => error.message) }));
  process.exit(1);
}
process.stdout.write(JSON.stringify({ supergraphSdl: result.supergraphSdl }));
