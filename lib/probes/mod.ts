/**
 * Probes of frozen representations: a linear probe (logistic regression) and weighted kNN.
 *
 * @module
 */
export * from "./labelled_features.ts";
export * from "./linear_probe.ts";
export * from "./knn.ts";
