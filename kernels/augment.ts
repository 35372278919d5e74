// filled in by its owner
import type { OpDef } from "./op.ts";
export const AUGMENT: Record<string, OpDef> = {};
