#!/usr/bin/env node
// The `tokenunify` command runs the built CLI (npm run build writes out/main/cli.js).
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url))
if (!existsSync(cli)) {
  process.stderr.write(`tokenunify: ${cli} is missing; run \`npm run build\` first\n`)
  process.exit(1)
}
await import(pathToFileURL(cli).href)
