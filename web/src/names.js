// Display names of the registry's methods and checks (the registry's own
// names stay the identifiers; unknown ones are shown as they are).
const METHOD_NAMES = {
  gradient: 'Gradient',
  saliency: 'Saliency (squared gradient)',
  'gradient-x-input': 'Gradient \u00d7 input',
  'integrated-gradients': 'Integrated Gradients',
  'integrated-hessians': 'Integrated Hessians',
  smoothgrad: 'SmoothGrad',
  'smoothgrad-squared': 'SmoothGrad\u00b2',
  occlusion: 'Occlusion (leave one out)',
  lrp: 'LRP (layer-wise relevance)',
  'layer-relevance': 'Layer relevance (LRP)',
  'neuron-relevance': 'Neuron relevance (LRP)',
  lime: 'LIME',
  shap: 'SHAP',
  'kernel-shap': 'Kernel SHAP',
  'input-marginalization': 'Input marginalization',
};

export function methodName(name) {
  return METHOD_NAMES[name] || name;
}

export function shortMethodName(name) {
  return (METHOD_NAMES[name] || name).replace(/ \(.*\)$/, '');
}

// Methods whose word scores are one per word of the text (the Compare and
// deletion-curve views rank words by them). layer- and neuron-relevance
// explain a layer or a unit, not the output, so they stay out by default.
export function explainsOutput(m) {
  return !['layer-relevance', 'neuron-relevance'].includes(m.name);
}

export function checkName(name) {
  return name.replace(/-/g, ' ');
}
