// The spec language in one import: builders, presets, schema types, validation, files, flags.
export * from "./builders.ts";
export { augs, CPU_DEFAULTS, defaultEncoder, type PresetName, type PresetOptions, presets } from "./presets.ts";
export * from "./schema.ts";
export { SpecError, type SpecIssue } from "./error.ts";
export { semanticIssues, untrustedIssues, type ValidateOptions, validateSpecStructure } from "./validate.ts";
export { canonicalJSON, loadSpec, parseSpecJSON, saveSpec, specHash } from "./io.ts";
export { type CliResult, FLAG_NAMES, FlagError, helpText, parseFlags } from "./cli.ts";
export { type FieldChange, formatChanges, RESUMABLE_FIELDS, resumeChanges, ResumeError } from "./resume.ts";
export {
  AUG_RECIPE_NAMES,
  AUG_RECIPES,
  type AugRecipeName,
  BLUR_MIN_SIZE,
  recipeViews,
  viewAugmentAttrs,
} from "./aug_recipes.ts";
export * from "./resolve.ts";
