// The demo's inventory: the lab's hosts and connection settings, plus the example BGP cluster's
// variables as the article has them, BFD included (MetalLB's FRR-based speaker). Prints where it
// wrote it.
import { join } from 'node:path';
import { labNames } from '../test/lab/paths.ts';
import { readState } from '../test/lab/state.ts';
import { writeLabExampleInventory } from '../test/lab/example-inventory.ts';

const names = labNames();
const state = readState(names);
if (!state) throw new Error(`lab ${names.lab} is not up`);
const out = join(names.dir, 'demo-inventory');
writeLabExampleInventory(names.inventoryDir, out, 'example-bgp', state.components.metallbFrrManifest);
console.log(out);
