#pragma once
// Non-finite numbers in a result are an error, never a success: a model
// whose output overflows float32 (or whose weights hold NaN) would
// otherwise print "p nan", send null logits to JS and give an explanation
// finite scores for a meaningless prediction.
#include <string>

#include "wordlight/explain.h"

namespace wordlight {

// Throws Error "<what>: the model's output is not finite (logit 1 is NaN) ..."
// when a logit, probability or the explained value is NaN or infinite.
void check_prediction_finite(const Prediction& p, const std::string& what);
// The prediction as above, then every score the explanation holds (token and
// word scores, interactions, layer scores, the checks' values).
void check_explanation_finite(const Explanation& e);

}  // namespace wordlight
