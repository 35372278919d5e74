// The one-class training set of the anomaly-detection protocol (--one-class C): the training
// split keeps the images of class C only, the test split is left whole (its other classes are
// the anomalies). C is a class index or, where the data set names its classes, a class name.
// A limit on the training images applies first: the one-class set is the images of C among
// the first N, the same images tools/anomaly.ts takes as C's normal set under --train-limit N.
// Names match without regard to case.
import { DataError, type Dataset, type Split } from "./dataset.ts";

/** The class a one-class run trains on, as a spec or flag gives it. */
export type ClassChoice = number | string;

/** "class 1 ('trouser')", or "class 1" for a data set without names. */
export function describeClass(c: { index: number; name?: string }): string {
  return `class ${c.index}${c.name === undefined ? "" : ` ('${c.name}')`}`;
}

/** The valid choices of `ds`, for error messages: "0 t-shirt, 1 trouser, …". */
function validClasses(ds: Dataset): string {
  return Array.from({ length: ds.classes }, (_, c) => ds.classNames ? `${c} ${ds.classNames[c]}` : String(c))
    .join(", ");
}

/** The index of class `choice` in `ds`; a DataError names the valid classes. */
export function classIndex(ds: Dataset, choice: ClassChoice): number {
  const base = ds.name.replace(/\/train$/, "");
  if (ds.classes < 2) {
    throw new DataError(
      `one class: ${base} has ${ds.classes} class${ds.classes === 1 ? "" : "es"}; a one-class run needs ` +
        "a labelled data set of two or more (the test images of the other classes are its anomalies)",
    );
  }
  const asText = String(choice).trim();
  // names match without regard to case: `trouser` is Fashion-MNIST's 'Trouser'
  const index = /^\d+$/.test(asText)
    ? Number(asText)
    : ds.classNames?.findIndex((n) => n.toLowerCase() === asText.toLowerCase()) ?? -1;
  if (Number.isInteger(index) && index >= 0 && index < ds.classes) return index;
  throw new DataError(`one class: ${base} has no class '${asText}'; its classes are ${validClasses(ds)}`);
}

/** The rows of `ds` with label c, in their stored order (a copy). */
export function imagesOfClass(ds: Dataset, c: number): Dataset {
  const per = ds.c * ds.h * ds.w;
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.labels[i] === c) keep.push(i);
  const images = new Float32Array(keep.length * per);
  keep.forEach((i, r) => images.set(ds.images.subarray(i * per, (i + 1) * per), r * per));
  return { ...ds, images, labels: new Int32Array(keep.length).fill(c), n: keep.length };
}

/**
 * `split` with its training images cut to class `choice`. The test split must hold images of
 * the class and of others, or no AUROC can be taken; an empty training set is refused too.
 */
export function oneClassSplit(split: Split, choice: ClassChoice): Split {
  const index = classIndex(split.train, choice);
  const name = split.train.classNames?.[index];
  const train = imagesOfClass(split.train, index);
  const what = describeClass({ index, name });
  if (train.n === 0) {
    throw new DataError(`one class: ${split.train.name} has no image of ${what}${limitHint(split.train)}`);
  }
  const inTest = split.test.labels.filter((l) => l === index).length;
  if (inTest === 0 || inTest === split.test.n) {
    throw new DataError(
      `one class: ${split.test.name} has ${inTest} of ${split.test.n} images of ${what}; the anomaly AUROC needs ` +
        "test images of the class and of others (raise --test-limit)",
    );
  }
  return { train, test: split.test, oneClass: name === undefined ? { index } : { index, name } };
}

const limitHint = (ds: Dataset) => ds.n > 0 ? ` among its first ${ds.n} (raise --train-limit)` : "";
