// TypeScript declarations of wordlight's JavaScript API (wordlight.mjs).

/** What a model's files are given as. */
export type ModelFileData = ArrayBuffer | ArrayBufferView | Blob | string;

/**
 * A model directory (Hugging Face layout: config.json, model.safetensors,
 * vocab.txt / tokenizer.json / vocab.json + merges.txt):
 * - a URL of the directory (relative URLs resolve against the page);
 * - a Map or object of file names to bytes (names may carry a folder:
 *   "my-model/config.json"), or an array / FileList of Files (a dropped
 *   folder);
 * - in node, a directory path.
 */
export type ModelSource = string | URL | Map<string, ModelFileData> | Record<string, ModelFileData> | File[] | FileList;

export interface LoadProgress {
  /** 'files': reading or downloading files (done/total in bytes, or files for maps); 'model': building the model (0/1, then 1/1). */
  stage: 'files' | 'model';
  file?: string;
  done: number;
  total: number;
}

export interface LoadOptions {
  /**
   * Threads to compute with (at most MAX_THREADS). More than 1 picks the
   * pthreads build when SharedArrayBuffer is usable (node, or a
   * cross-origin isolated page); otherwise, or with 1, the single-threaded
   * build. Default: min(4, hardware threads).
   */
  threads?: number;
  /** Run in a Web Worker (default in browsers: true; node: the calling thread only). */
  worker?: boolean;
  /** What error messages call the model (default: the URL, path, or folder name). */
  name?: string;
  onProgress?: (p: LoadProgress) => void;
}

export interface ModelInfo {
  name: string;
  architecture: string;
  /** The registry's architecture group: which methods' options and defaults apply. */
  architecture_group: 'cnn' | 'bilstm' | 'transformer' | 'decoder';
  model_type: string;
  head: 'sequence-classification' | 'masked-lm' | 'causal-lm';
  num_labels: number;
  labels: string[];
  /** Longest input in tokens, special tokens included. */
  max_length: number;
  vocab_size: number;
  embedding_dim: number;
  parameters: number;
  tokenizer: 'wordpiece' | 'bpe' | 'word';
  /** The learned parts the model carries (files beside it, e.g. 'diffmask'), which some methods require. */
  parts: string[];
  build: 'wordlight-simd' | 'wordlight-simd-threads';
  threads: number;
}

export interface PredictResult {
  label: number;
  label_name: string;
  logits: number[];
  probabilities: number[];
  /**
   * Present (true) for a multi-label model (config problem_type
   * multi_label_classification): each probability is its label's own
   * sigmoid, several labels can be above 0.5 and they need not sum to 1.
   */
  multi_label?: true;
  num_tokens: number;
  truncated: boolean;
  notice?: string;
}

/**
 * Offsets: begin/end index the JS string (UTF-16 code units:
 * text.slice(begin, end)); byte_begin/byte_end are the core's UTF-8 byte
 * offsets (what the CLI's JSON calls begin/end). Special tokens have
 * begin == end.
 */
export interface TokenScore {
  token: string;
  id: number;
  begin: number;
  end: number;
  byte_begin: number;
  byte_end: number;
  /** Index into words; -1 for special tokens. */
  word: number;
  special: boolean;
  /** The tokenizer's unknown token: the model did not read what was typed here. */
  unknown: boolean;
  score: number | null;
}

export interface WordScore {
  text: string;
  begin: number;
  end: number;
  byte_begin: number;
  byte_end: number;
  score: number | null;
  /** Indices into tokens. */
  tokens: number[];
  /** One of its tokens is the unknown token: not read by the model as typed (do not colour it as evidence). */
  unknown: boolean;
  /** shapley-sampling: the score's standard error. */
  standard_error?: number;
  /** input-marginalization: the masked LM's top candidates in the word's place, most probable first. */
  candidates?: { text: string; weight: number; probability: number; output: number }[];
}

export interface ExplanationCheck {
  name: string;
  value: number | null;
  reference: number | null;
  relative: number | null;
  description: string;
}

export interface Explanation {
  method: string;
  /** Every option of the method with the value used, as text. */
  options: Record<string, string>;
  /** What the result answers: "Why 'positive'?", "What drives layer.3 neuron 17?". */
  title: string;
  /** 'unsigned': magnitudes (importance; a sequential scale, never for/against). */
  scores: 'signed' | 'unsigned';
  explains: 'output' | 'neuron' | 'layers';
  text: string;
  prediction: {
    label: number;
    label_name: string;
    logits: number[];
    probabilities: number[];
    /**
     * Present (true) for a multi-label model (config problem_type
     * multi_label_classification): each probability is its label's own
     * sigmoid, several labels can be above 0.5 and they need not sum to 1.
     */
    multi_label?: true;
    target: number;
    target_name: string;
    output: 'logit' | 'probability';
    explained_value: number | null;
  };
  tokens: TokenScore[];
  words: WordScore[];
  checks: ExplanationCheck[];
  /** Methods with layer-wise results (layer-relevance). */
  layers?: Array<{ layer: string; token_scores: Array<number | null>; [key: string]: unknown }>;
  model_evaluations: number;
  seconds: number;
  truncated: boolean;
  notice?: string;
  /** What the model did not read: words mapped to the unknown token, words past the truncation. */
  unread: { words: number; unknown_words: number; truncated_words: number; truncated_from: number; share: number | null };
  /** Adaptive path methods (integrated-gradients, integrated-hessians): how the steps grew and where they stopped. */
  convergence?: {
    adaptive: boolean;
    steps: number;
    gap: number | null;
    /** Relative change of the scores from the previous steps; -1: not measured. */
    change: number | null;
    tolerance: number;
    converged: boolean;
    tried: number[];
  };
  /** integrated-gradients: the explained output at each quadrature point of the final rule. */
  path?: { alphas: number[]; weights: number[]; f: Array<number | null>; f_baseline: number | null; f_input: number | null };
  /** Method-specific additions (integrated-hessians' interaction matrices, ...). */
  [key: string]: unknown;
}

export interface ExplainOptions {
  /** A name from methods() (default 'gradient'). */
  method?: string;
  /** The class to explain: a label name or a class id (default: the predicted class). */
  target?: string | number;
  /** Tokens, special ones included (default: the model's maximum). */
  maxLength?: number;
  /** Cancels the run at its next batch; the promise rejects with an Error named 'AbortError'. */
  signal?: AbortSignal;
  /** Model evaluations done and planned, after each batch. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** input-marginalization: the masked LM proposing the candidates, a second model loaded by the same wordlight instance. */
  maskedLm?: Model;
  /** The method's options by name (kebab-case, or camelCase: batchSize = 'batch-size'). */
  [option: string]: unknown;
}

export interface Tokenization {
  ids: number[];
  tokens: string[];
  /** [begin, end) in the JS string. */
  offsets: Array<[number, number]>;
  /** [begin, end) in UTF-8 bytes. */
  byte_offsets: Array<[number, number]>;
  word_ids: number[];
  special: number[];
  words: Array<[number, number]>;
  byte_words: Array<[number, number]>;
  truncated: boolean;
  notice?: string;
}

export interface ForwardResult {
  logits: Float32Array;
  /** (B, num_labels), or (B, T, vocab) for masked LMs. */
  shape: number[];
  /** d sum_b logits[b, targets[b]] / d word embeddings, (B, T, D); null without targets. */
  inputGradient: Float32Array | null;
}

export interface CounterfactualOptions {
  /** 'hotflip' (default), 'ablation-flip' or 'mlm-edits' (generators() lists them with their options). */
  generator?: string;
  /** Word indices (as in the result's words) never edited. */
  locked?: number[];
  maxLength?: number;
  /** mlm-edits: a masked LM loaded by the same wordlight instance. */
  maskedLm?: Model;
  signal?: AbortSignal;
  /** Model evaluations done and planned, after each batch. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** The generator's options (positions, max-flips, method, fills, max-evaluations, ...). */
  [option: string]: unknown;
}

export interface CounterfactualEdit {
  /** Index into CounterfactualResult.words. */
  word: number;
  /** [begin, end) of the original text (JS string; byte_* in UTF-8). */
  begin: number;
  end: number;
  original: string;
  /** '' when deleted. */
  replacement: string;
  deleted: boolean;
  /** [new_begin, new_end) of the counterfactual's text. */
  new_begin: number;
  new_end: number;
}

export interface Counterfactual {
  text: string;
  edits: CounterfactualEdit[];
  prediction: { label: number; label_name: string; logits: number[]; probabilities: number[]; multi_label?: true };
  /** Of the new label. */
  probability: number;
  /** mlm-edits: the masked LM's pseudo-log-likelihood of the text. */
  fluency?: number;
  fluency_per_token?: number;
  /** Model evaluations spent when it was found. */
  evaluations: number;
}

export interface CounterfactualResult {
  generator: string;
  title: string;
  options: Record<string, string>;
  text: string;
  prediction: { label: number; label_name: string; logits: number[]; probabilities: number[]; multi_label?: true };
  words: Array<{ text: string; begin: number; end: number; score: number | null }>;
  /** What ranked the words. */
  ranking: string;
  /** Words considered, best first. */
  positions: number[];
  /** Per considered word: hotflip's replacement, or mlm-edits' fills. */
  candidates: string[][];
  locked: number[];
  /** Minimal: none is a superset of another. */
  counterfactuals: Counterfactual[];
  model_evaluations: number;
  mlm_evaluations: number;
  texts_tried: number;
  search_size: number;
  /** max-evaluations cut the search (notice says so). */
  capped: boolean;
  fluency?: number;
  notice?: string;
  seconds: number;
}

export interface GeneratorInfo {
  name: string;
  title: string;
  description: string;
  cost: string;
  needs_mlm: boolean;
  options: OptionInfo[];
}

/** model.generate's options (a causal LM: GPT2LMHeadModel). Any of temperature, topK, topP, seed samples; none: greedy. */
export interface GenerateOptions {
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  sample?: boolean;
  /** Strings that end the generation (the text is cut before them). */
  stop?: string[];
  /** Token ids that end it (kept in the output). */
  stopIds?: number[];
  /** Put the model's BOS token (<|endoftext|>) before the prompt (default true). */
  bos?: boolean;
  ignoreEos?: boolean;
  /** Explain each generated token over every earlier token. */
  explain?: {
    method: string;
    options?: Record<string, number | boolean | string>;
    /** 'log-prob' (default), 'logit', or 'prob-diff' with a contrast token id (p(token) - p(contrast)). */
    score?: 'log-prob' | 'logit' | 'prob-diff';
    contrast?: number;
    /** gradient, saliency, gradient-x-input, lrp: rows of target positions batched (default true); false: one explanation per row. */
    batchRows?: boolean;
  } | null;
  signal?: AbortSignal;
  /** While generating: done of maxNewTokens, with the token just generated (to show tokens as they come); then done of the explained tokens, without a token. */
  onProgress?: (p: { done: number; total: number; token?: GeneratedToken }) => void;
}

export interface GeneratedToken {
  id: number;
  token: string;
  text: string;
  probability: number;
  logprob: number;
  /** Of the model's next-token distribution, in nats. */
  entropy: number;
}

export interface GenerationExplanation {
  method: string;
  score: string;
  options: Record<string, string>;
  signed: boolean;
  /** Prompt then generated tokens, as text. */
  sources: string[];
  source_tokens: string[];
  prompt_length: number;
  bos: boolean;
  /** Explained generated tokens (indices into tokens). */
  targets: number[];
  /** targets x sources; sources at or after a target's own position are 0 (lower-triangular). */
  matrix: (number | null)[][];
  explained: (number | null)[];
  check: string[];
  check_relative: (number | null)[];
  /** The first source token's share of each row's total |attribution| (BOS / attention-sink effect). */
  first_token_share: (number | null)[];
  mean_first_token_share: number | null;
  model_evaluations: number;
  /** gradient, saliency, gradient-x-input, lrp: backward passes run (rows of target positions batched, up to 16 a pass); 0 for other methods. */
  backward_passes: number;
  seconds: number;
}

export interface Generation {
  prompt: string;
  text: string;
  stopped_by: 'max_new_tokens' | 'eos' | 'stop_id' | 'stop' | 'max_positions' | 'cancelled' | 'callback';
  bos: boolean;
  prompt_tokens: { id: number; token: string; span?: [number, number] }[];
  tokens: GeneratedToken[];
  seconds: number;
  explanation?: GenerationExplanation;
}

/** model.attention(): softmax(q k^T / sqrt(d)) of every layer and head, as the forward computes it. */
export interface AttentionResult {
  layers: number;
  heads: number;
  /** Vocabulary strings ("##ing", "Ġworld", "[CLS]"). */
  tokens: string[];
  /** Each token's text as typed; "" for special tokens. */
  texts: string[];
  /** 1: inserted by the tokenizer. */
  special: number[];
  /** [layer][head][query][key]; each query's row sums to 1; GPT-2's later keys are 0. */
  attention: number[][][][];
  truncated: boolean;
  notice?: string;
}

export interface Model {
  readonly info: ModelInfo;
  /** Text from a causal language model, optionally each token explained over the earlier ones. */
  generate(prompt: string, options?: GenerateOptions): Promise<Generation>;
  predict(text: string, options?: { maxLength?: number }): Promise<PredictResult>;
  /** A transformer's attention weights per layer and head (not an explanation of the prediction); rejects CNN and BiLSTM models. */
  attention(text: string, options?: { maxLength?: number }): Promise<AttentionResult>;
  explain(text: string, options?: ExplainOptions): Promise<Explanation>;
  /** Many texts in one call (a data set): padded batches of batchSize (16), texts sorted by length; progress in texts. One entry per text, in order. */
  predictBatch(
    texts: string[],
    options?: { maxLength?: number; batchSize?: number; signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void },
  ): Promise<(PredictResult | { error: string })[]>;
  /** Each text explained as explain() explains it, in one call; progress in texts. One entry per text, in order. */
  explainBatch(
    texts: string[],
    options?: ExplainOptions & { documentVectors?: boolean },
  ): Promise<((Explanation & { document_vector?: number[] }) | { error: string })[]>;
  /** The smallest edits that flip the prediction (HotFlip, ablation flip, MLM-guided edits). */
  counterfactuals(text: string, options?: CounterfactualOptions): Promise<CounterfactualResult>;
  tokenize(text: string, options?: { maxLength?: number }): Promise<Tokenization>;
  /** The registry resolved for this model: only the options that apply to its architecture, with its defaults. */
  methods(): Promise<MethodInfo[]>;
  /** The model on token ids (tests, tools). */
  forward(batch: {
    ids: ArrayLike<number>;
    mask: ArrayLike<number>;
    batch: number;
    length: number;
    targets?: ArrayLike<number>;
  }): Promise<ForwardResult>;
  /** Frees the model; later calls reject. */
  dispose(): Promise<void>;
}

export interface OptionInfo {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'choice';
  default: number | boolean | string;
  min?: number;
  max?: number;
  choices?: string[];
  description: string;
  /** wordlight.methods() only: the architecture groups the option applies to (absent: all). */
  applies_to?: string[];
  /** wordlight.methods() only: per architecture group, the choices that apply and the default there. */
  by_architecture?: Record<string, { choices?: string[]; default?: string }>;
}

export interface MethodInfo {
  name: string;
  /** Display name. */
  title: string;
  description: string;
  /** 'unsigned': magnitudes (importance), never for/against. */
  scores: 'signed' | 'unsigned';
  /** Option values that make a signed method's scores magnitudes ({reduce: 'l2'}). */
  unsigned_when?: Record<string, string>;
  explains: 'output' | 'neuron' | 'layers';
  word_level: boolean;
  /** Name of the method's own check ('completeness-gap'), or ''. */
  check: string;
  /** One line: what one explanation costs in model passes. */
  cost: string;
  /** wordlight.methods(): the architecture groups it applies to. */
  applies_to?: string[];
  /** A learned part the model must carry ('diffmask'), and how to get it; absent: none needed. */
  requires_part?: string;
  part_hint?: string;
  /** model.methods(): whether it applies to the model (its architecture and parts), and why not. */
  applicable?: boolean;
  why?: string;
  options: OptionInfo[];
}

export interface MemoryInfo {
  /** Bytes of wasm memory (it grows, never shrinks). */
  heapSize: number;
  /** The cap it may grow to. */
  heapMax: number;
  /** Bytes allocated now. */
  heapInUse: number;
  models: number;
}

export const MAX_THREADS: number;
export function load(source: ModelSource, options?: LoadOptions): Promise<Model>;
export function methods(options?: { threads?: number; worker?: boolean }): Promise<MethodInfo[]>;
export function generators(options?: { threads?: number; worker?: boolean }): Promise<GeneratorInfo[]>;
export function memory(options?: { threads?: number; worker?: boolean }): Promise<MemoryInfo>;
/** Which build and GEMM kernel the engine runs. */
export interface EngineInfo {
  build: 'wordlight-simd' | 'wordlight-simd-threads';
  threads: number;
  /** 'wasm-relaxed-simd' (fused multiply-add) where the JS engine validates relaxed SIMD, else 'wasm-simd128'. */
  gemmKernel: 'wasm-relaxed-simd' | 'wasm-simd128';
  /** 'active', or why the relaxed-SIMD kernel is not used. */
  relaxedSimd: string;
}
export function engineInfo(options?: { threads?: number; worker?: boolean }): Promise<EngineInfo>;
export function shutdown(): Promise<void>;
/** Where the built module lies (default: dist/ next to wordlight.mjs). */
export function configure(options: { distUrl?: string | URL }): void;
export function simdSupported(): boolean;
export function threadsSupported(): boolean;

declare const wordlight: {
  load: typeof load;
  methods: typeof methods;
  generators: typeof generators;
  memory: typeof memory;
  engineInfo: typeof engineInfo;
  shutdown: typeof shutdown;
  configure: typeof configure;
  simdSupported: typeof simdSupported;
  threadsSupported: typeof threadsSupported;
  MAX_THREADS: number;
};
export default wordlight;
