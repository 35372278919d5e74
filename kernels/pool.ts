// filled in by its owner
import type { OpDef } from "./op.ts";
export const POOL: Record<string, OpDef> = {};
