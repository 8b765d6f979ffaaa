#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=32
// Entry point of the `tetra` command: runs the TypeScript sources through tsx.
// The V8 flags are for the server: on a machine with few cores, V8's parallel scavenger waits for
// helper threads the busy cores have not scheduled (2-4 ms pauses, the gateway's p99), and a
// larger young generation scavenges a quarter as often. bench:gateway measures it; RESULTS.md.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
