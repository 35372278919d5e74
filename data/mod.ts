// Public surface of data/: the Dataset type, the resolver, and the individual readers.
export { checkDataset, DataError, type Dataset, type Split, take } from "./dataset.ts";
export { DATA_KINDS, DATA_NAME_FORMS, datasetImageShape, parseDataName } from "./names.ts";
export { FASHION_MNIST_DIR, loadDataset, loadDatasetSync, type LoadOptions, loadSpecData } from "./load.ts";
export { type ClassChoice, classIndex, describeClass, imagesOfClass, oneClassSplit } from "./one_class.ts";
export { FASHION_MNIST_CLASSES, loadIdxSplit, MNIST_CLASSES, parseIdx, readIdxPair } from "./idx.ts";
export { CIFAR10_CLASSES, loadCifar10, loadCifar100 } from "./cifar.ts";
export { loadImageFolder } from "./folder.ts";
export { makeSynthetic, SYNTHETIC_CLASSES, type SyntheticOptions } from "./synthetic.ts";
export { decodeImage } from "./decode.ts";
export { resizePlanes } from "./resize.ts";
