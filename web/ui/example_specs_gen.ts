// Writes example_specs.json: the default spec of each example in examples/, as their files
// build it. The page cannot import those files (they are command lines too: pipelines/run.ts
// reads process and the file system), so it reads their specs from this snapshot;
// tests/web_ui_test.ts fails when the snapshot and the examples differ.
// Run: deno run -A web/ui/example_specs_gen.ts
import { spec as barlowPredictor } from "../../examples/barlow_predictor.ts";
import { spec as byolBarlow } from "../../examples/byol_barlow.ts";
import { spec as featureMse } from "../../examples/feature_mse.ts";
import { spec as infonceBarlow } from "../../examples/infonce_barlow.ts";

export const EXAMPLE_SPECS = {
  "examples/byol_barlow.ts": byolBarlow,
  "examples/barlow_predictor.ts": barlowPredictor,
  "examples/infonce_barlow.ts": infonceBarlow,
  "examples/feature_mse.ts": featureMse,
};

if (import.meta.main) {
  const path = new URL("./example_specs.json", import.meta.url);
  Deno.writeTextFileSync(path, JSON.stringify(EXAMPLE_SPECS, null, 2) + "\n");
  console.log(`wrote ${path.pathname}`);
}
