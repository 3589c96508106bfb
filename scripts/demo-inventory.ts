// The demo's inventory: the lab's hosts and connection settings, plus the example BGP cluster's
// variables. Prints where it wrote it.
import { join } from 'node:path';
import { labNames } from '../test/lab/paths.ts';
import { writeLabExampleInventory } from '../test/lab/example-inventory.ts';

const names = labNames();
const out = join(names.dir, 'demo-inventory');
writeLabExampleInventory(names.inventoryDir, out, 'example-bgp');
console.log(out);
