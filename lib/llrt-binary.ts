/**
 * Which LLRT binary goes into LLRT functions, in a module without CDK imports so bin/synth-summary.ts can read the
 * markers cheaply. The functions themselves are built in lib/llrt-function.ts.
 */

/**
 * The LLRT release every LLRT function runs. Pinned: cdk-lambda-llrt's default is `latest`, which changes the
 * runtime under a deployed function at the next synth.
 */
export const LLRT_VERSION = 'v0.8.1-beta';

/**
 * Context key that swaps the LLRT binary for a placeholder: `-c difyEdgeOfflineLlrt=true`. cdk-lambda-llrt
 * downloads the binary from GitHub while bundling, which fails without internet; `npm run synth` and the tests set
 * this so templates can be checked offline. A template built with it is NOT deployable (bin/synth-summary.ts says so).
 */
export const OFFLINE_LLRT_CONTEXT_KEY = 'difyEdgeOfflineLlrt';

/** The stand-in copied as `bootstrap` when the offline switch is on; it fails every start with an explanation. */
export const LLRT_PLACEHOLDER_BINARY = 'functions/llrt-placeholder/bootstrap';

/** Resource metadata naming the LLRT binary inside the code asset: the pinned version, or `placeholder`. */
export const LLRT_BINARY_METADATA_KEY = 'DifyEdge:LlrtBinary';
export const LLRT_PLACEHOLDER = 'placeholder';
