// Losses composed from primitives (docs/architecture.md, "Losses are composed"): no method owns WGSL.
export { cosineSimilarity, normalize } from "./normalize.ts";
export { crossCorrelation, diagOfGram, offDiagSquareSum, standardize } from "./correlation.ts";
export { type BarlowOpts, type BarlowTerms, barlowTwins, barlowTwinsLambdaFree, barlowTwinsTerms } from "./barlow.ts";
export { MASKED_LOGIT, ntXent } from "./ntxent.ts";
export { infoNCE, infoNCESymmetric } from "./infonce.ts";
export { byolLoss, byolSymmetric, simsiamLoss, simsiamSymmetric } from "./cosine_target.ts";
export { vicreg, type VicregOpts, type VicregTerms, vicregTerms } from "./vicreg.ts";
export { featureSimilarityMse } from "./feature_mse.ts";
export { collapseDiagnostics } from "./diagnostics.ts";
export { eye, eyeComposed } from "./eye.ts";
export { softmaxCrossEntropy } from "./cross_entropy.ts";
