// validateSpec: the one gate a spec passes before its step is built (step/build.ts runs it, the
// trainer runs it before any GPU work). The spec layer's own checks (dsl/validate.ts: schema,
// references, cycles, widths, queues) and, reported with them in one SpecError, the checks that
// need the graph stage: the loss lowered shapes-only through the op table (loss_check.ts) and
// the ImageNet stem's minimum view size (nn/resnet.ts). They live here, not in dsl/, because the
// spec layer imports nothing of the layers that turn it into a graph.
import { joinPath, type SpecIssue } from "../dsl/error.ts";
import { expandPath, viewImageShape } from "../dsl/resolve.ts";
import type { PipelineSpec } from "../dsl/schema.ts";
import { type ValidateOptions, validateSpecStructure } from "../dsl/validate.ts";
import { IMAGENET_STEM_MIN_SIZE } from "../nn/resnet.ts";
import { lossIssues } from "./loss_check.ts";

/** Checks `input` and returns the spec with defaults filled in; throws SpecError otherwise. */
export function validateSpec(
  input: unknown,
  file?: string,
  opts: Omit<ValidateOptions, "graphIssues"> = {},
): PipelineSpec {
  return validateSpecStructure(input, file, { ...opts, graphIssues });
}

/** The problems of a spec (that passed the spec layer's checks) that only the graph stage sees. */
export function graphIssues(spec: PipelineSpec): SpecIssue[] {
  return [...stemIssues(spec), ...lossIssues(spec)];
}

/** An 'imagenet' stem first in a branch needs views of at least IMAGENET_STEM_MIN_SIZE px. */
function stemIssues(spec: PipelineSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  spec.branches.forEach((b, i) => {
    const leaves = expandPath(spec.modules, b.path);
    // broken paths and modules visited twice are the spec layer's to report
    if (!leaves || leaves.some((n, k) => leaves.indexOf(n) !== k)) return;
    const n = leaves[0], m = spec.modules[n];
    if (m.kind !== "resnet18" || m.stem !== "imagenet") return;
    const [, h, w] = viewImageShape(spec, b.view);
    if (Math.min(h ?? Infinity, w ?? Infinity) >= IMAGENET_STEM_MIN_SIZE) return;
    issues.push({
      path: `${joinPath("modules", n)}.stem`,
      message:
        `the 'imagenet' stem divides the side by 4 and needs views of at least ${IMAGENET_STEM_MIN_SIZE} px, but view '${b.view}' is ${h}×${w} (in branches[${i}] '${b.name}'); use stem 'cifar'`,
    });
  });
  return issues;
}
