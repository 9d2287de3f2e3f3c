// Bundles GraphiQL (src/main.jsx) and Monaco's workers into static/ with esbuild.
//   node build.mjs          rebuild static/ (commit the result: the gateway serves it without Node.js)
//   node build.mjs --check  rebuild into a temporary folder and fail if static/ differs
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const check = process.argv.includes("--check");
const outdir = check ? mkdtempSync(join(tmpdir(), "graphiql-")) : join(here, "static");

if (!check) {
  rmSync(outdir, { recursive: true, force: true });
}

await build({
  absWorkingDir: here,
  entryPoints: {
    graphiql: "src/main.jsx",
    "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
    "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
    "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
  },
  outdir,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022"],
  legalComments: "linked",
  loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".graphql": "text" },
  assetNames: "[name]",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});

if (check) {
  const built = readdirSync(outdir).sort();
  const committed = readdirSync(join(here, "static")).sort();
  const differing = built.filter(
    (name) => !committed.includes(name) || !readFileSync(join(outdir, name)).equals(readFileSync(join(here, "static", name))),
  );
  const extra = committed.filter((name) => !built.includes(name));
  rmSync(outdir, { recursive: true, force: true });
  if (differing.length > 0 || extra.length > 0) {
    console.error(`gateway/graphiql/static is out of date (${[...differing, ...extra].join(", ")}): run npm run build --prefix gateway/graphiql`);
    process.exit(1);
  }
  console.log("gateway/graphiql/static is up to date");
}
