// Cosine regression onto a stop-gradient target: BYOL and SimSiam. The target side never
// receives gradient (stopGrad inside), which is what the methods require; the predictor
// output p is the only differentiated input.
import type { Tensor } from "../ir/tensor.ts";
import { cosineSimilarity } from "./normalize.ts";

/** BYOL: mean_n (2 − 2·cos(p_n, sg(z_n))) = mean ‖p̂ − ẑ‖². */
export function byolLoss(p: Tensor, z: Tensor): Tensor {
  return cosineSimilarity(p, z.stopGrad()).mul(-2).add(2).mean();
}

/** SimSiam: −mean_n cos(p_n, sg(z_n)). */
export function simsiamLoss(p: Tensor, z: Tensor): Tensor {
  return cosineSimilarity(p, z.stopGrad()).mean().neg();
}

/** BYOL symmetrised over two views: byol(p1, z2) + byol(p2, z1). */
export function byolSymmetric(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor): Tensor {
  return byolLoss(p1, z2).add(byolLoss(p2, z1));
}

/** SimSiam symmetrised: ½·simsiam(p1, z2) + ½·simsiam(p2, z1). */
export function simsiamSymmetric(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor): Tensor {
  return simsiamLoss(p1, z2).add(simsiamLoss(p2, z1)).mul(0.5);
}
