#!/usr/bin/env node
// The `hexashop` command. Node 24 runs the TypeScript sources directly (type stripping): no build step.
import '../src/bootstrap/cli.ts';
