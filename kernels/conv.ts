// filled in by its owner
import type { OpDef } from "./op.ts";
export const CONV: Record<string, OpDef> = {};
