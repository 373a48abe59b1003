#pragma once
// The memory budget (issue 14): one number, the option memory-mb, bounds
// the working set of every method. A batched method does not run
// batch-size rows because the user asked for them: it asks rows_that_fit()
// how many rows of its text fit the budget, from the model's per-row cost
// at that sequence length (row_bytes: the activations a pass keeps on the
// tape, estimated from the model's dimensions; test_memory_budget.cpp holds
// the estimate against the arena's measured high water), and batch-size is
// only a cap. When not even one row fits, the explanation is refused with a
// message saying what one row needs, before anything is allocated for it.
#include <cstddef>
#include <string>

#include "wordlight/model_config.h"

namespace wordlight {

// What a row's pass keeps: the forward values only (occlusion, the
// perturbation family, evaluate's deletions), also their gradients
// (gradient methods, IG, SmoothGrad, LRP), or a forward-mode tangent per
// direction on top (Integrated Hessians: call with directions + 1 rows).
enum class RowPass { forward, backward };

// Bytes one text of T tokens takes through the model in one pass (an upper
// estimate of the tape's share of the arena; what the batch's inputs and
// outputs take besides is small and counted in).
size_t row_bytes(const ModelConfig& config, int T, RowPass pass);

// The machine's default budget in MiB: natively half of what is free now
// (MemAvailable, and the room left under an address-space limit such as
// `ulimit -v`, whichever is smaller); in wasm half of the room left below
// the heap's cap. Shared by the default thread pool's workers (each gets
// its share), at least 16 MiB.
double default_memory_mb();

// The budget in bytes for the option's value: memory_mb > 0 as given,
// 0 (the option's default, "auto") default_memory_mb().
size_t memory_budget_bytes(double memory_mb);

// How many rows of T tokens fit the budget (each counted at 1.5 row_bytes:
// the arena's chunks besides the tape): between 1 and cap. Throws
// Error "<who>: one row of T tokens needs about X MiB ... memory-mb is Y"
// when not even one fits.
int rows_that_fit(const ModelConfig& config, int T, RowPass pass, double memory_mb, int cap, const std::string& who);

}  // namespace wordlight
