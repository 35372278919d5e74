// Layers and encoders as plain functions over Tensors: (input, param-name prefix, options).
// Weights are shared by reusing a prefix; see each file for the parameter names it creates.
export { linear, type LinearOpts } from "./linear.ts";
export { batchNorm, type BatchNormOpts } from "./batchnorm.ts";
export { mlp, type MlpOpts } from "./mlp.ts";
export { conv, type ConvOpts, flatten, globalAvgPool } from "./conv.ts";
export { smallCnn, type SmallCnnOpts } from "./small_cnn.ts";
export { basicBlock, IMAGENET_STEM_MIN_SIZE, resnet18, type ResNetOpts, type ResNetStem } from "./resnet.ts";
