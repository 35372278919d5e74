// PyTorch parity of the loss and of every parameter gradient, for every pipeline and example
// (tests/util/torch_grads.ts: same views, same perturbed state, within 1e-4 relative, f32).
import { checkTorchGradients } from "./util/torch_grads.ts";
import { extraSpecs, smallSpecs } from "./util/torch_specs.ts";

Deno.test("torch export: loss and every gradient equal the project's, for every pipeline and example", async () => {
  const report = await checkTorchGradients([...await smallSpecs(16, 8), ...await extraSpecs(16, 8)]);
  console.log(report.join("\n"));
});
