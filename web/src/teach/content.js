// What the panel says about each method: the formula in words and in
// symbols (Unicode), where the method is known to mislead, and its
// sources. Plain data; the panel (index.js) adds what this text's result
// shows.

const S = {
  baehrens: 'Baehrens, Schroeter, Harmeling, Kawanabe, Hansen & M\u00fcller 2010: How to explain individual classification decisions. JMLR 11.',
  simonyan: 'Simonyan, Vedaldi & Zisserman 2014: Deep inside convolutional networks: visualising image classification models and saliency maps. ICLR workshop.',
  arrasText: 'Arras, Horn, Montavon, M\u00fcller & Samek 2017: \u201cWhat is relevant in a text document?\u201d: an interpretable machine learning approach. PLOS ONE.',
  shrikumar: 'Shrikumar, Greenside, Shcherbina & Kundaje 2016: Not just a black box: learning important features through propagating activation differences. arXiv:1605.01713.',
  shrikumar17: 'Shrikumar, Greenside & Kundaje 2017: Learning important features through propagating activation differences (DeepLIFT; saturation). ICML.',
  sundararajan: 'Sundararajan, Taly & Yan 2017: Axiomatic attribution for deep networks (Integrated Gradients). ICML.',
  sturmfels: 'Sturmfels, Lundberg & Lee 2020: Visualizing the impact of feature attribution baselines. Distill.',
  smilkov: 'Smilkov, Thorat, Kim, Vi\u00e9gas & Wattenberg 2017: SmoothGrad: removing noise by adding noise. arXiv:1706.03825.',
  hooker: 'Hooker, Erhan, Kindermans & Kim 2019: A benchmark for interpretability methods in deep neural networks (SmoothGrad-squared). NeurIPS.',
  adebayo: 'Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018: Sanity checks for saliency maps. NeurIPS.',
  zeiler: 'Zeiler & Fergus 2014: Visualizing and understanding convolutional networks (occlusion). ECCV.',
  li: 'Li, Monroe & Jurafsky 2016: Understanding neural networks through representation erasure. arXiv:1612.08220.',
  bach: 'Bach, Binder, Montavon, Klauschen, M\u00fcller & Samek 2015: On pixel-wise explanations for non-linear classifier decisions by layer-wise relevance propagation. PLOS ONE.',
  montavon: 'Montavon, Binder, Lapuschkin, Samek & M\u00fcller 2019: Layer-wise relevance propagation: an overview. In Explainable AI, LNCS 11700.',
  arrasLstm: 'Arras, Montavon, M\u00fcller & Samek 2017: Explaining recurrent neural network predictions in sentiment analysis (LRP for LSTMs). WASSA.',
  achtibat: 'Achtibat, Hatefi, Dreyer, Jain, Wiegand, Lapuschkin & Samek 2024: AttnLRP: attention-aware layer-wise relevance propagation for transformers. ICML.',
  ali: 'Ali, Schnake, Eberle, Montavon, M\u00fcller & Wolf 2022: XAI for transformers: better explanations through conservative propagation (CP-LRP). ICML.',
  janizek: 'Janizek, Sturmfels & Lee 2021: Explaining explanations: axiomatic feature interactions for deep networks (Integrated Hessians). JMLR 22.',
  dhamdhere: 'Dhamdhere, Yan & Sundararajan 2019: How important is a neuron? ICLR.',
  shapley: 'Shapley 1953: A value for n-person games. In Contributions to the Theory of Games II.',
  lundberg: 'Lundberg & Lee 2017: A unified approach to interpreting model predictions (SHAP, KernelSHAP). NeurIPS.',
  strumbelj: '\u0160trumbelj & Kononenko 2014: Explaining prediction models and individual predictions with feature contributions (Shapley value sampling). Knowledge and Information Systems 41.',
  castro: 'Castro, G\u00f3mez & Tejada 2009: Polynomial calculation of the Shapley value based on sampling. Computers & Operations Research 36.',
  owen: 'Owen 1977: Values of games with a priori unions. In Mathematical Economics and Game Theory.',
  ribeiro: 'Ribeiro, Singh & Guestrin 2016: \u201cWhy should I trust you?\u201d: explaining the predictions of any classifier (LIME). KDD.',
  garreau: 'Garreau & von Luxburg 2020: Explaining the explainer: a first theoretical analysis of LIME. AISTATS.',
  kumar: 'Kumar, Venkatasubramanian, Scheidegger & Friedler 2020: Problems with Shapley-value-based explanations as feature importance measures. ICML.',
  kim: 'Kim, Yi, Kim & Yoon 2020: Interpretation of NLP models through input marginalization. EMNLP.',
  pham: 'Pham, Bui, Mai & Nguyen 2021: Double trouble: how to not explain a text classifier\u2019s decisions using counterfactuals synthesized by masked language models? arXiv:2110.11929.',
  decao: 'De Cao, Schlichtkrull, Aziz & Titov 2020: How do decisions emerge across layers in neural models? Interpretation with differentiable masking (DiffMask). EMNLP.',
  louizos: 'Louizos, Welling & Kingma 2018: Learning sparse neural networks through L0 regularization (the hard concrete gate). ICLR.',
  chenji: 'Chen & Ji 2020: Learning variational word masks to improve the interpretability of neural text classifiers (VMASK). EMNLP.',
  jang: 'Jang, Gu & Poole 2017: Categorical reparameterization with Gumbel-softmax. ICLR.',
};

const SATURATION = 'Saturation: where the model is already sure, its output hardly moves for a small change, so a word it relies on completely can get a slope near 0 (Shrikumar et al. 2017; Sundararajan et al. 2017).';
const LOCAL = 'It is local: it says what a tiny change of the embedding would do, not what the word contributed; embeddings do not change a little, words are there or not.';
const EMBEDDING = 'x is the word\u2019s embedding (a vector of numbers the model looks the word up by), not the word; the score is that vector\u2019s derivative, reduced to one number per word.';

export const CONTENT = {
  gradient: {
    words: 'How fast the explained output f changes when a word\u2019s embedding moves a little along its own direction: the local slope of f at this text. Positive: making the word \u201cstronger\u201d raises the class\u2019s score.',
    symbols: 's\u1d62 = \u2207\u2091\u1d62 f(x) \u00b7 e\u1d62 / \u2016e\u1d62\u2016  (reduce = along-input);   reduce = sum: s\u1d62 = \u03a3_d \u2202f/\u2202e\u1d62d;   reduce = l2: s\u1d62 = \u2016\u2207\u2091\u1d62 f\u2016',
    picture: 'Each word\u2019s slope, drawn as a tilted line (up: the output rises, down: it falls) and as a bar. One backward pass through the model gives every slope at once.',
    misleads: [LOCAL, SATURATION, 'Gradients of deep nets are noisy from word to word (Smilkov et al. 2017), and a map can look plausible even for a model with random weights (Adebayo et al. 2018).', EMBEDDING],
    sources: [S.baehrens, S.simonyan, S.adebayo],
  },
  saliency: {
    words: 'The squared length of the gradient over a word\u2019s embedding: how sensitive f is to any small change of that word, in any direction. A size, never a direction: it cannot say for or against.',
    symbols: 's\u1d62 = \u2016\u2207\u2091\u1d62 f(x)\u2016\u00b2 = \u03a3_d (\u2202f/\u2202e\u1d62d)\u00b2  \u2265 0',
    picture: 'The signed slope of each word (from a plain gradient of the same text) next to its saliency bar: words whose slope points down (against the class) get bars as long as words pointing up, because squaring drops the sign.',
    misleads: ['Unsigned: a long bar may be evidence against the class as well as for it; read it as \u201cthe model is sensitive here\u201d, never as \u201cthis word supports the class\u201d. It is drawn on a sequential scale for that reason.', SATURATION, 'Squaring exaggerates the largest gradient and hides the rest.', LOCAL],
    sources: [S.simonyan, S.arrasText, S.baehrens],
  },
  'gradient-x-input': {
    words: 'The slope times the embedding itself: a first-order (Taylor) estimate of how much f would change if the word\u2019s embedding were set to zero. For a linear model it is exactly the word\u2019s contribution.',
    symbols: 's\u1d62 = \u2207\u2091\u1d62 f(x) \u00b7 e\u1d62 = \u03a3_d e\u1d62d \u2202f/\u2202e\u1d62d  \u2248 f(x) \u2212 f(x with e\u1d62 = 0)',
    picture: 'The local slope of each word (from a plain gradient of the same text) and its gradient \u00d7 input: the slope along the embedding times the embedding\u2019s length.',
    misleads: [SATURATION, 'The zero vector is an implicit baseline: \u201cno word\u201d is not the zero embedding, and on transformers a zero embedding is an input the model never saw.', 'A tangent extrapolated over the whole embedding: far from x the model is not linear (Integrated Gradients follows the curve instead).'],
    sources: [S.shrikumar, S.shrikumar17],
  },
  'integrated-gradients': {
    words: 'Walk in a straight line from a baseline x\u2032 (a text that says nothing) to the text x, add up the gradient at every point of the walk, and multiply by how far each word moved. The scores then add up to how much the output moved: f(x) \u2212 f(x\u2032) (completeness).',
    symbols: 'IG\u1d62 = (x\u1d62 \u2212 x\u2032\u1d62) \u00b7 \u222b\u2080\u00b9 \u2202f(x\u2032 + \u03b1(x \u2212 x\u2032))/\u2202x\u1d62 d\u03b1  \u2248 (x\u1d62 \u2212 x\u2032\u1d62) \u00b7 \u03a3\u2096 w\u2096 \u2202f(x\u2032 + \u03b1\u2096(x \u2212 x\u2032))/\u2202x\u1d62;   \u03a3\u1d62 IG\u1d62 = f(x) \u2212 f(x\u2032)',
    picture: 'Top: the text at the start, the middle and the end of the path. Middle: the explained output f at each quadrature point \u03b1\u2096 (a dot per point; its size is the point\u2019s weight w\u2096). Bottom: the slope of that curve, the integrand; its area is f(x) \u2212 f(x\u2032), which the word scores share out.',
    misleads: [
      'The baseline decides the answer: the scores explain f(x) \u2212 f(x\u2032), the difference from the baseline, and a zero, [UNK] or [MASK] baseline each ask a different question (Sturmfels et al. 2020).',
      'Too few points: the sum over the quadrature points misses sharp turns of f along the path; the completeness gap and the convergence check show it.',
      'The straight path goes through inputs that are no text at all (half a word, half the baseline): the model has never seen them.',
      'Words that saturate f early on the path share the rise among them; the picture shows where along the path f actually moves.',
    ],
    sources: [S.sundararajan, S.sturmfels],
  },
  smoothgrad: {
    words: 'The gradient, averaged over many noisy copies of the text\u2019s embeddings: the noise blurs out the sharp, meaningless wiggles of the slope and keeps its trend.',
    symbols: 'SG\u1d62 = (1/n) \u03a3\u2096 g\u1d62(e + \u03b5\u2096),  \u03b5\u2096 ~ N(0, \u03c3\u00b2 I),  \u03c3 = noise \u00b7 (max e \u2212 min e)',
    picture: 'For each word: its slope at single noisy copies of the text (grey rings), without noise (black tick), and the SmoothGrad average the page shows (diamond). The spread of the rings is what the noise does.',
    misleads: ['The noise level \u03c3 is a choice: too little changes nothing, too much explains other texts than this one.', 'Still a gradient: local, and blind to saturation.', 'A signed average: slopes that flip sign between copies cancel, so a small score can mean \u201cunstable\u201d as well as \u201cunimportant\u201d.'],
    sources: [S.smilkov, S.adebayo],
  },
  'smoothgrad-squared': {
    words: 'Saliency averaged over noisy copies of the text: the mean squared gradient. Like saliency, a size, never a direction.',
    symbols: 'SG\u00b2\u1d62 = (1/n) \u03a3\u2096 \u2016\u2207\u2091\u1d62 f(e + \u03b5\u2096)\u2016\u00b2,  \u03b5\u2096 ~ N(0, \u03c3\u00b2 I)  \u2265 0',
    picture: 'For each word: its saliency at single noisy copies (grey rings), without noise (black tick), and the average (diamond), on a scale from 0.',
    misleads: ['Unsigned: it cannot say for or against, only \u201csensitive\u201d. It is drawn on a sequential scale for that reason.', 'The noise level is a choice.', SATURATION],
    sources: [S.hooker, S.smilkov, S.simonyan],
  },
  occlusion: {
    words: 'Take the word out (or cover it) and run the model again: the score is how much the explained output drops. No derivatives: every score is an actual run of the model on an actual text.',
    symbols: 's\u1d62 = f(x) \u2212 f(x without word i);   window k: the mean of f(x) \u2212 f(x without words j..j+k\u22121) over the k windows that cover i',
    picture: 'One row per word: the text with that word occluded, and the output the model gives it, against the dashed line at f(x) for the whole text. The length of each bar is the word\u2019s score.',
    misleads: [
      'Redundancy: when two words each say the same thing (\u201cgreat, wonderful\u201d), removing one changes little, and both look unimportant.',
      'The occluded text is a new input: a removed word shifts the others and breaks the grammar; [MASK] or [UNK] are words in themselves. The score measures the model on that text as much as the word.',
      'One word at a time cannot show interactions (the Interactions tab can).',
    ],
    sources: [S.zeiler, S.li],
  },
  lrp: {
    words: 'Start from the explained output at the top and pass it down through the network, layer by layer, sharing each neuron\u2019s relevance among the inputs that made it, in proportion to their contributions. What reaches the words is their relevance, and the total is (nearly) conserved on the way.',
    symbols: 'R\u2c7c = \u03a3\u2096 (a\u2c7c w\u2c7c\u2096 / (z\u2096 + \u03b5\u00b7sign z\u2096)) R\u2096,  z\u2096 = \u03a3\u2c7c a\u2c7c w\u2c7c\u2096 + b\u2096;   \u03a3\u2c7c R\u2c7c \u2248 \u03a3\u2096 R\u2096 \u2248 \u2026 \u2248 f(x)',
    picture: 'The relevance at each level, from the output (top) to the input tokens (bottom): each cell a token at that layer (each row on its own colour scale), the bar on the right what the level holds in all, and the number after it what was absorbed on the way down (by biases, the \u03b5 stabiliser, LayerNorm\u2019s shift\u2026).',
    misleads: [
      'Relevance is absorbed on the way (biases, \u03b5, normalisation): the words may hold much less than f(x); the conservation gap says how much.',
      'The rules are choices (\u03b5, z\u207a, \u03b1\u03b2; AttnLRP or CP-LRP on attention): different rules give different maps of the same prediction.',
      'On transformers the top layers gather relevance at [CLS]; which word a position \u201cis\u201d blurs layer by layer through attention.',
    ],
    sources: [S.bach, S.montavon, S.arrasLstm, S.achtibat, S.ali],
  },
  'layer-relevance': {
    words: 'LRP, stopped at every layer: how much of the explained output each token position holds at that layer. The rows show relevance moving from the output down to the words.',
    symbols: 'R\u207d\u02e1\u207e\u209c = \u03a3_neurons of position t at layer l R;   \u03a3\u209c R\u207d\u02e1\u207e\u209c \u2248 f(x) for every l (conservation)',
    picture: 'The same flow as in the Layers tab: the output at the top, each layer below it, the input tokens at the bottom; the bar on the right is what each level holds in all, the number after it what was absorbed on the way.',
    misleads: ['A position at a deep layer is not a word: attention has mixed every word into it.', 'Rows are normalised in the Layers tab (each on its own scale): compare within a row, not across rows; the totals here are not normalised.', 'What was absorbed (biases, \u03b5, normalisation) is missing from the rows below.'],
    sources: [S.bach, S.montavon, S.achtibat],
  },
  'neuron-relevance': {
    words: 'LRP started from one neuron instead of the output: which words make that neuron fire on this text. It explains the neuron, not the class.',
    symbols: 'R\u207d\u02e1\u207e = a\u2099 at neuron n of layer l, 0 elsewhere;  then the LRP rules down to the input:  \u03a3\u1d62 R\u1d62 \u2248 a\u2099',
    picture: 'The neuron\u2019s activation at the top and the relevance of each input token below it.',
    misleads: ['It says what drives a neuron, not what the neuron means: neurons often respond to several unrelated things.', 'What the neuron does for the class is another question (how relevant it is, in the Layers tab).', 'Relevance absorbed on the way, as for LRP.'],
    sources: [S.bach, S.montavon, S.dhamdhere],
  },
  'integrated-hessians': {
    words: 'Integrated Gradients applied to itself: how much word j changes word i\u2019s Integrated Gradients score. Each row adds up to the word\u2019s IG score, and the whole matrix to f(x) \u2212 f(x\u2032).',
    symbols: '\u0393\u1d62\u2c7c = (x\u1d62 \u2212 x\u2032\u1d62)(x\u2c7c \u2212 x\u2032\u2c7c) \u222b\u2080\u00b9\u222b\u2080\u00b9 \u03b1\u03b2 \u2202\u00b2f(x\u2032 + \u03b1\u03b2(x \u2212 x\u2032))/\u2202x\u1d62\u2202x\u2c7c d\u03b1 d\u03b2  (i \u2260 j);   \u03a3\u2c7c \u0393\u1d62\u2c7c = IG\u1d62;   \u03a3\u1d62\u03a3\u2c7c \u0393\u1d62\u2c7c = f(x) \u2212 f(x\u2032)',
    picture: 'The words down the side, each word\u2019s own effect \u0393\u1d62\u1d62 as a bar, and arcs between the pairs that interact most: orange when together they add to the class, purple when they take away; thicker is stronger.',
    misleads: [
      'Needs curvature: a ReLU network has none, so its ReLUs are replaced by softplus (option softplus-beta), which changes the model a little (the smoothing difference check).',
      'The baseline and the number of points matter even more than for IG: the -ln t weight puts most of it near the baseline, where f can turn sharply.',
      'n\u00b2 numbers for n words: the arcs show only the strongest few.',
    ],
    sources: [S.janizek, S.sundararajan],
  },
  'kernel-shap': {
    words: 'Treat the words as players of a game whose payout is the explained output: run the model on many texts with some words absent, then find the per-word values that best explain those outputs as sums, weighting each coalition by the Shapley kernel. The values add up exactly to f(x) \u2212 f(nothing). With few enough words every coalition is run and the values are the exact Shapley values.',
    symbols: '\u03c6 = argmin \u03a3_S \u03c0(S) (f(S) \u2212 f(\u2205) \u2212 \u03a3_{i\u2208S} \u03c6\u1d62)\u00b2;   \u03c0(S) = (M \u2212 1) / (C(M, |S|) |S| (M \u2212 |S|));   \u03a3\u1d62 \u03c6\u1d62 = f(x) \u2212 f(\u2205)',
    picture: 'A waterfall: from the output with every word absent, each word adds its value, and the steps end exactly at f(x) for the whole text.',
    misleads: [
      '\u201cAbsent\u201d has to be something: [MASK], a removed word or a padding embedding. The texts in between are not texts anyone wrote, and the values say what the model does on them.',
      'A sampled estimate when there are many words: small values can be noise (the samples-per-feature check warns when the budget is small).',
      'Shapley values share interactions equally between the words involved; a word can get a large value only because of another word (Kumar et al. 2020).',
    ],
    sources: [S.lundberg, S.shapley, S.kumar],
  },
  'shapley-sampling': {
    words: 'Put the words in a random order and add them one by one to an empty text: each word gets the change of the output when it arrives. Averaged over many orders, this is the word\u2019s Shapley value. Every order adds up to f(x) \u2212 f(nothing), so the estimate does too.',
    symbols: '\u03c6\u1d62 = (1/P) \u03a3_p [f(pre_p(i) \u222a {i}) \u2212 f(pre_p(i))];   pre_p(i): the words before i in order p;   \u03a3\u1d62 \u03c6\u1d62 = f(x) \u2212 f(\u2205)',
    picture: 'A waterfall: from the output with every word absent, each word adds its value; the steps end at f(x) for the whole text.',
    misleads: [
      'An estimate: its standard error (the max-standard-error check) says how far a value may be from the exact one; more permutations shrink it like 1/\u221aP.',
      '\u201cAbsent\u201d is a choice ([MASK], removal, padding): the intermediate texts are the model\u2019s inputs, not the user\u2019s.',
      'Interactions are split equally between the words involved (Kumar et al. 2020).',
    ],
    sources: [S.strumbelj, S.castro, S.shapley],
  },
  'partition-shap': {
    words: 'Shapley values where words are first grouped into a hierarchy (phrases split at punctuation and conjunctions): groups play against groups, then words within a group. Cheap for long texts, and the values still add up to f(x) \u2212 f(nothing).',
    symbols: 'Owen values over the word hierarchy;   \u03a3\u1d62 \u03c6\u1d62 = f(x) \u2212 f(\u2205)',
    picture: 'A waterfall: from the output with every word absent, each word adds its value; the steps end at f(x).',
    misleads: [
      'The hierarchy is part of the answer: words in different groups never share credit the way they would in plain Shapley values.',
      '\u201cAbsent\u201d is a choice ([MASK], removal, padding).',
    ],
    sources: [S.owen, S.lundberg],
  },
  lime: {
    words: 'Run the model on many copies of the text with random words removed, then fit a linear model of the words (present or not) to those outputs, weighting each copy by how close it is to the whole text. The fit\u2019s weights are the scores.',
    symbols: 'min_w \u03a3_z \u03c0(z) (f(z) \u2212 w\u2080 \u2212 \u03a3\u1d62 w\u1d62 z\u1d62)\u00b2 + \u03b1|w|\u00b2;   \u03c0(z) = \u221aexp(\u2212d(z)\u00b2 / \u03c3\u00b2),  d: cosine distance \u00d7 100',
    picture: 'A waterfall of the fit: from its intercept (every word absent), each word adds its weight; where the steps end is the fit\u2019s prediction, which may miss the model\u2019s f(x) (the R\u00b2 check says how well the line fits).',
    misleads: [
      'A fit, not a decomposition: nothing makes the weights add up to the output, and a low R\u00b2 means the linear story is poor.',
      'Random samples: another seed gives other weights (fixed here by default, so the same call gives the same answer).',
      'The kernel width decides what \u201clocal\u201d means, and the answer can change a lot with it (Garreau & von Luxburg 2020).',
    ],
    sources: [S.ribeiro, S.garreau],
  },
};

CONTENT['input-marginalization'] = {
  words: 'Instead of replacing a word by a placeholder the model never saw in training, ask a masked language model what could stand in its place, run the classifier with each of those words, and average the class\u2019s probability weighted by how likely each word is. The score is how much the real word raises the odds of the class over that average, in bits.',
  symbols: 'p(y | x\u2216w) = \u03a3_c p_MLM(c | x with w masked) p(y | x with c) / \u03a3_c p_MLM(c | \u2026),  over the candidates c with p_MLM(c) > \u03c3;   score(w) = log\u2082 odds p(y | x) \u2212 log\u2082 odds p(y | x\u2216w)',
  picture: 'One row per word: the words the masked LM proposed in its place, each as wide as its weight; hover a row for the candidates, their weights and the class\u2019s probability with each.',
  misleads: [
    'The masked LM often proposes the word itself, which drives predictable words towards 0 (Pham et al. 2021): option exclude-original leaves it out.',
    'Only the candidates above \u03c3 (and within max-candidates) are averaged over: the kept-mass check says how much of the masked LM\u2019s belief that is. For word-level models, candidates the classifier cannot read are dropped too (mapping-lost-mass).',
    'One word at a time: what two words do together is not seen (as with occlusion).',
  ],
  sources: [S.kim, S.pham],
};

CONTENT.diffmask = {
  words: 'Small networks (probes) were trained beside this model, once, to answer: which words can be replaced by a placeholder without changing the prediction? A probe at each layer reads the hidden states there and gives every word a gate; the gates of the layers up to one layer multiply, and the trained probes drop as many words as they can while the prediction (its whole distribution) stays within a small KL bound. The score is the probability that the word is kept: high where the model needs it. Row by row (Layers tab), it shows at which layer the model has read what it needs.',
  symbols: 'keep_i(w) = \u220f_{j \u2264 i} P(z_j(w) > 0),  z_j a hard concrete gate of log \u03b1_j = probe_j([h_0; h_j]);  trained: min E[L0] s.t. KL(p(y|x) \u2016 p(y|x\u2032)) \u2264 \u03b5,  x\u2032 = z x + (1 \u2212 z) placeholder',
  picture: 'The words coloured by their keep probability (0 to 1, one scale); in the Layers tab one row per layer: the row falls where the layers above no longer need the word.',
  misleads: [
    'The probes were trained on a data set: on text far from it they may keep or drop words for reasons of their own; the masked-kl check says whether dropping what they drop really keeps this prediction.',
    'Kept means needed for this prediction as a whole, for or against: a keep probability says nothing about the direction, and the same for every class.',
    'A word the model reads together with another (a negation) may be kept or dropped as a pair; the probes see one word at a time in its context.',
  ],
  sources: [S.decao, S.louizos],
};

CONTENT.vmask = {
  words: 'This model was trained with a mask in front of it: a small network reads each word\u2019s embedding and decides how much of the word the classifier gets to see. In training it kept or dropped each word at random with that probability, and a penalty (an information bottleneck) pushed every probability towards a coin flip, so only the words the predictions needed were kept reliably. The score is that probability of being kept; the model really reads each word scaled by it.',
  symbols: 'p_keep(w) = softmax(W\u2082 tanh(W\u2081 e_w + b\u2081) + b\u2082)_keep,  the model reads x\u2032_w = p_keep(w) e_w;  trained: CE + \u03b2 mean_w [p log p + (1 \u2212 p) log(1 \u2212 p)],  x\u2032 = r e, r a hard Gumbel-softmax sample',
  picture: 'The words coloured by their keep probability (0 to 1, one scale).',
  misleads: [
    'The mask sees one word\u2019s embedding only, not its context: a word gets the same probability in every sentence, and the same for every class (kept says needed, not for or against).',
    'A word the model uses as its default evidence may be dropped although it matters: with two classes a model can recognise one class by the absence of the other\u2019s words.',
    'It explains this model only: the mask was trained with it, and another model is not explained by it.',
  ],
  sources: [S.chenji, S.jang],
};

// Meaning of each check, by name (or prefix).
export const CHECKS = {
  'completeness-gap': 'Completeness: the word scores should add up to f(x) \u2212 f(x\u2032) exactly; what is left is the error of summing over finitely many points of the path. Below 1% of f(x) \u2212 f(x\u2032) the integral has converged.',
  'conservation-gap': 'Conservation: the relevance reaching the input should add up to the output it started from; the gap is what biases, the \u03b5 stabiliser and normalisation layers absorbed on the way down.',
  'interaction-completeness-gap': 'Completeness of the interactions: the whole matrix should add up to f(x) \u2212 f(x\u2032).',
  'row-sum-ig-gap': 'Each row of the matrix should add up to that word\u2019s Integrated Gradients score; this is the largest difference.',
  'smoothing-difference': 'How much replacing ReLU by softplus changed the output: the interactions explain the smoothed model.',
  'efficiency-gap': 'Efficiency: Shapley values add up to f(x) \u2212 f(nothing); what is left is rounding (or, for a sampled estimate, it is enforced and the error is elsewhere).',
  'exact-shapley': 'Whether every coalition of words was run (then the values are the exact Shapley values) or a sample.',
  'f-empty': 'The output with every word absent: where the waterfall starts.',
  'max-standard-error': 'The largest standard error of a word\u2019s estimated value over the permutations: how far it may be from the exact value.',
  'samples-per-feature': 'Few model runs per word: the estimate is rough; raise the budget.',
  'r-squared': 'How well the linear fit explains the outputs of the perturbed texts, near the text (1 is perfect).',
  'local-prediction': 'The fit\u2019s output at the whole text, against the model\u2019s.',
  intercept: 'The fit\u2019s output with every word absent: where its waterfall starts.',
  'kept-mass': 'How much of the masked LM\u2019s probability the averaged candidates cover, per word on average (1 would be all of it).',
  'mapping-lost-mass': 'The masked LM\u2019s probability on candidates the classifier\u2019s vocabulary does not have (dropped), per word on average.',
  'candidates-per-word': 'Candidate words averaged over per word (each one model run).',
  'words-without-candidates': 'Words with no usable candidate: their score is 0.',
  'hard-mask-change': 'The explained output with the mask\u2019s hard decisions (words of keep probability at least 1/2 whole, the others dropped) minus the model\u2019s own: near 0, the prediction rests on the words the mask keeps.',
  'masked-kl': 'The prediction with the words of keep probability below 1/2 replaced by the learned placeholder, against the real one, as KL divergence: below the bound the probes were trained for (\u03b5), dropping them changes nothing that matters.',
  'absorbed:': 'Relevance absorbed by one part of the network; with the word relevances, the parts add up to the explained output.',
};

export function checkMeaning(name) {
  if (CHECKS[name]) return CHECKS[name];
  const k = Object.keys(CHECKS).find((p) => p.endsWith(':') && name.startsWith(p));
  return k ? CHECKS[k] : '';
}

export const NO_CHECK = {
  gradient: 'A gradient has no built-in check: nothing says the slopes should add up to anything.',
  saliency: 'Saliency has no built-in check; its numbers are sizes that add up to nothing in particular.',
  'gradient-x-input': 'No built-in check: the sum of the scores is only a first-order estimate of f(x) \u2212 f(0).',
  smoothgrad: 'No built-in check: compare with the plain gradient (the black ticks) to see what the noise changed.',
  'smoothgrad-squared': 'No built-in check.',
  occlusion: 'No built-in check is needed for what it measures: every output drawn is a real run of the model. But the scores need not add up to f(x): redundant words share nothing.',
};
