// The TrainerPort with the core: to be wired to train()/runMethod() with the in-memory run
// folder and the Gpu from navigator.gpu once the platform layer lands.
import type { TrainerPort } from "./ui/trainer_port.ts";

export function createTrainer(): TrainerPort {
  const missing = () => new Error("training in the page is not wired to the core yet");
  return {
    start: () => Promise.reject(missing()),
    pause: () => {
      throw missing();
    },
    resume: () => Promise.reject(missing()),
    stop: () => {
      throw missing();
    },
    files: () => [],
  };
}
