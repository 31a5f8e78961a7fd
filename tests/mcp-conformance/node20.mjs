// node20.mjs makes @modelcontextprotocol/conformance run on Node.js 20, the
// Node.js of our machines and CI. The suite imports fs.globSync (Node.js 22)
// for its tier report only, which the tests never run; on Node.js 20 the
// import alone stops the CLI at start. Run the CLI as
//   node --import ./node20.mjs node_modules/@modelcontextprotocol/conformance/dist/index.js …
// On Node.js 22 or newer this file does nothing.
import fs from "node:fs";
import { register } from "node:module";

if (typeof fs.globSync !== "function") {
  register("./node20-hooks.mjs", import.meta.url);
}
