// Fails when the app's modules import each other in a loop (src/gql, generated, aside).
// A loop makes module order matter at load time and couples features that should not
// know each other; `npm run build` runs this first. Static and dynamic imports count.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..", "src");
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) { if (name !== "gql") walk(path); }
    else if (/\.tsx?$/.test(name)) files.push(path);
  }
})(root);

function resolveImport(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts"), join(base, "index.tsx")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

const edges = new Map();
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from|import\()\s*["'](\.[^"']+)["']/g)].map((m) => m[1]);
  edges.set(file, specs.map((s) => resolveImport(file, s)).filter((p) => p && !p.includes("/gql/")));
}

const state = new Map(); // 1: on the stack, 2: done
const stack = [];
const cycles = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const next of edges.get(file) ?? []) {
    if (state.get(next) === 1) cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of files) if (!state.has(file)) visit(file);

if (cycles.length) {
  for (const cycle of cycles) console.error("Import cycle: " + cycle.map((f) => relative(root, f)).join(" -> "));
  process.exit(1);
}
console.log(`No import cycles among ${files.length} modules.`);
