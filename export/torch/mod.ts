// A spec as a PyTorch program: the same modules (parameter names and shapes), views (the
// project's Philox streams), loss, optimizer, schedules, EMA, queues and checkpoint files, plus
// DDP under torchrun. See write.ts for the files and py/sslport/ for the runtime.
export { ExportError } from "./plan.ts";
export { writeTorchProgram } from "./write.ts";
