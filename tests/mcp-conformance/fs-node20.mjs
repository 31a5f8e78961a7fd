// fs-node20.mjs is node:fs plus a globSync that says it is missing: Node.js 20
// has no fs.globSync, and the suite uses it only for its tier report.
import fs from "node:fs";

export * from "node:fs";
export default fs;

export function globSync() {
  throw new Error("fs.globSync needs Node.js 22 or newer (the conformance tier report); the server scenarios do not use it");
}
