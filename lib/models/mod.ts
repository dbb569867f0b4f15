/**
 * Models over named variables: a GPT for language modelling, an MLP and a CNN for 28×28 images,
 * the layers they share (with gradients every backend runs), and safetensors weights on disk.
 *
 * @module
 */
export * from "./ops.ts";
export * from "./params.ts";
export * from "./gpt.ts";
export * from "./vision.ts";
export * from "./io.ts";
