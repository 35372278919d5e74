// Data-set names as a spec or `--data` gives them: a known kind, `kind:<dir>`, or a folder.
// One parser for every reader of a name (the loader, spec validation, the memory planner of the
// λ-free study), so `cifar10:/data/c10` means CIFAR-10 everywhere and not an unknown name.
import { SYNTHETIC_DEFAULTS } from "./synthetic.ts";

/** The forms a data-set name can take, for help texts and error messages. */
export const DATA_NAME_FORMS = [
  "fashion-mnist",
  "fashion-mnist:<dir>",
  "mnist:<dir>",
  "cifar10:<dir>",
  "cifar100:<dir>",
  "synthetic",
  "<folder>",
] as const;

/** Image shape [C, H, W] of each known kind (synthetic: the generator's default size). */
const SHAPES: Record<string, readonly [number, number, number]> = {
  "fashion-mnist": [1, 28, 28],
  "mnist": [1, 28, 28],
  "cifar10": [3, 32, 32],
  "cifar100": [3, 32, 32],
  "synthetic": [SYNTHETIC_DEFAULTS.channels, SYNTHETIC_DEFAULTS.size, SYNTHETIC_DEFAULTS.size],
};

/** The data-set kinds known by name (each can also be given as `kind:<dir>`). */
export const DATA_KINDS: readonly string[] = Object.keys(SHAPES);

/** `kind:<arg>` split at the first colon (not a Windows drive letter); a bare name has arg "". */
export function parseDataName(name: string): { kind: string; arg: string } {
  const s = name.trim();
  const colon = s.indexOf(":");
  if (colon > 0 && !/^[A-Za-z]:[\\/]/.test(s)) return { kind: s.slice(0, colon), arg: s.slice(colon + 1) };
  return { kind: s, arg: "" };
}

/** [C, H, W] of the images of a known kind, in any of its forms; undefined for a folder. */
export function datasetImageShape(name: string): readonly [number, number, number] | undefined {
  return SHAPES[parseDataName(name).kind];
}
