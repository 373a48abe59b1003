// Partition SHAP (shap's PartitionExplainer, shap/explainers/_partition.py,
// the default explainer of shap for text): Owen values of the words over a
// hierarchy that follows the sentence (shap's text partition tree: pieces
// of a word first, small groups before large ones, merges across commas,
// sentence ends and but / and / or delayed). The budget `max-evals` is
// spent where the output changes most; a group left unexpanded shares its
// change among its words by their number, so efficiency holds whatever the
// budget, and with a budget that expands every group the values are the
// exact Owen values (check fully-expanded). Cheap for long texts: the
// budget, not the number of words, bounds the cost.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <queue>
#include <string>
#include <unordered_map>

#include "perturbation_internal.h"

namespace wordlight {

namespace {

bool is_one_of(const std::string& s, std::initializer_list<const char*> list) {
  for (const char* x : list)
    if (s == x) return true;
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Hierarchy text_partition_tree(const std::vector<std::string>& texts) {
  const int M = static_cast<int>(texts.size());
  Hierarchy merges;
  struct Group {
    int first = 0, last = 0, size = 1, index = 0;
  };
  std::vector<Group> groups(static_cast<size_t>(std::max(M, 0)));
  for (int i = 0; i < M; ++i) groups[static_cast<size_t>(i)] = Group{i, i, 1, i};
  auto score = [&](const Group& a, const Group& b) {
    const std::string last1 = lower(texts[static_cast<size_t>(a.last)]),
                      first2 = lower(texts[static_cast<size_t>(b.first)]);
    double s = 0;
    if (first2.rfind("##", 0) == 0) s += 20;  // pieces of one word first
    if (is_one_of(last1, {"but", "and", "or"}) || is_one_of(first2, {"but", "and", "or"})) s -= 2;
    if (is_one_of(last1, {",", ";", ":"})) s -= 10;
    if (is_one_of(first2, {",", ";", ":"})) s -= b.size > 1 ? 10 : 1;
    if (is_one_of(last1, {".", "?", "!"})) s -= 20;
    if (is_one_of(first2, {".", "?", "!"})) s -= b.size > 1 ? 20 : 1;
    s -= a.size + b.size;
    return s;
  };
  while (groups.size() > 1) {
    size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i + 1 < groups.size(); ++i) {
      const double s = score(groups[i], groups[i + 1]);
      if (s > best_score) {
        best_score = s;
        best = i;
      }
    }
    merges.push_back({groups[best].index, groups[best + 1].index});
    groups[best].last = groups[best + 1].last;
    groups[best].size += groups[best + 1].size;
    groups[best].index = M + static_cast<int>(merges.size()) - 1;
    groups.erase(groups.begin() + static_cast<long>(best) + 1);
  }
  return merges;
}

ShapleyResult partition_shap(const CoalitionFunction& f, int M, const Hierarchy& tree, int64_t max_evals,
                             const CoalitionRun& run) {
  ShapleyResult r;
  r.values.assign(static_cast<size_t>(std::max(M, 0)), 0.0);
  if (M <= 0) return r;
  if (static_cast<int>(tree.size()) != M - 1) throw Error("partition-shap: the hierarchy must have M - 1 merges");
  const size_t m = static_cast<size_t>(M);
  const int nodes = 2 * M - 1;
  // Features under each node, sizes and depths (root at depth 0).
  std::vector<std::vector<int>> leaves(static_cast<size_t>(nodes));
  for (int i = 0; i < M; ++i) leaves[static_cast<size_t>(i)] = {i};
  for (int k = 0; k < M - 1; ++k) {
    const int a = tree[static_cast<size_t>(k)][0], b = tree[static_cast<size_t>(k)][1];
    if (a < 0 || b < 0 || a >= M + k || b >= M + k || a == b)
      throw Error("partition-shap: merge " + std::to_string(k) + " joins nodes that do not exist yet");
    std::vector<int>& l = leaves[static_cast<size_t>(M + k)];
    l = leaves[static_cast<size_t>(a)];
    l.insert(l.end(), leaves[static_cast<size_t>(b)].begin(), leaves[static_cast<size_t>(b)].end());
  }
  const int root = nodes - 1;
  if (static_cast<int>(leaves[static_cast<size_t>(root)].size()) != M)
    throw Error("partition-shap: the hierarchy does not cover every feature once");
  // Evaluations needed to expand everything: 2 per (internal node, context), 2^depth contexts.
  std::vector<int> depth(static_cast<size_t>(nodes), 0);
  double needed = 1;  // the empty coalition
  for (int k = M - 2; k >= 0; --k) {
    const int node = M + k;
    needed += 2 * std::ldexp(1.0, std::min(depth[static_cast<size_t>(node)], 1000));
    for (int c : tree[static_cast<size_t>(k)]) depth[static_cast<size_t>(c)] = depth[static_cast<size_t>(node)] + 1;
  }
  const int64_t total = static_cast<int64_t>(std::min<double>(static_cast<double>(max_evals), needed));

  std::unordered_map<std::string, double> cache;
  int64_t evals = 0;
  auto key = [&](const std::vector<uint8_t>& mk) { return std::string(reinterpret_cast<const char*>(mk.data()), m); };
  // Evaluates the masks not yet known, in one call; returns their values.
  auto eval = [&](const std::vector<std::vector<uint8_t>>& ms) {
    std::vector<uint8_t> flat;
    std::vector<std::string> keys;
    for (const auto& mk : ms) {
      std::string k = key(mk);
      if (!cache.count(k) && std::find(keys.begin(), keys.end(), k) == keys.end()) {
        flat.insert(flat.end(), mk.begin(), mk.end());
        keys.push_back(std::move(k));
      }
    }
    if (!keys.empty()) {
      if (run.control.cancel && run.control.cancel->load()) throw Cancelled();
      std::vector<double> out(keys.size());
      f(static_cast<int>(keys.size()), flat.data(), out.data());
      for (size_t i = 0; i < keys.size(); ++i) cache[keys[i]] = out[i];
      evals += static_cast<int64_t>(keys.size());
      if (run.control.progress) run.control.progress(evals, std::max(total, evals));
    }
    std::vector<double> v;
    for (const auto& mk : ms) v.push_back(cache.at(key(mk)));
    return v;
  };
  std::vector<uint8_t> empty(m, 0), full(m, 1);
  if (run.have_full) cache[key(full)] = run.f_full;
  const std::vector<double> ends = eval({empty, full});
  r.f_empty = ends[0];
  r.f_full = ends[1];

  struct Entry {
    double priority;
    int64_t order;
    std::vector<uint8_t> m00;
    double f00, f11;
    int node;
    double weight;
  };
  auto cmp = [](const Entry& a, const Entry& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.order > b.order;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(cmp)> q(cmp);
  int64_t order = 0;
  q.push(Entry{0, order++, empty, r.f_empty, r.f_full, root, 1.0});
  std::vector<double> dvalues(static_cast<size_t>(nodes), 0.0);
  const size_t B = static_cast<size_t>(std::max(2, run.batch_size));
  bool unexpanded = false;  // a group left unexpanded when the budget ran out
  struct Expansion {
    Entry e;
    std::vector<uint8_t> m10, m01;
  };
  // Evaluations past the full coalition: what max_evals bounds.
  auto spent = [&]() { return evals - (run.have_full ? 0 : 1); };
  while (!q.empty()) {
    if (spent() + 2 > max_evals) {  // no room for another expansion
      while (!q.empty()) {
        const Entry& e = q.top();
        dvalues[static_cast<size_t>(e.node)] += (e.f11 - e.f00) * e.weight;
        unexpanded = unexpanded || e.node >= M;
        q.pop();
      }
      break;
    }
    std::vector<Expansion> batch;
    std::vector<std::vector<uint8_t>> ms;
    while (!q.empty() && ms.size() + 2 <= B && spent() + static_cast<int64_t>(ms.size()) + 2 <= max_evals) {
      Entry e = q.top();
      q.pop();
      if (e.node < M) {
        dvalues[static_cast<size_t>(e.node)] += (e.f11 - e.f00) * e.weight;
        continue;
      }
      const auto& ch = tree[static_cast<size_t>(e.node - M)];
      Expansion x{std::move(e), {}, {}};
      x.m10 = x.e.m00;
      for (int i : leaves[static_cast<size_t>(ch[0])]) x.m10[static_cast<size_t>(i)] = 1;
      x.m01 = x.e.m00;
      for (int i : leaves[static_cast<size_t>(ch[1])]) x.m01[static_cast<size_t>(i)] = 1;
      ms.push_back(x.m10);
      ms.push_back(x.m01);
      batch.push_back(std::move(x));
    }
    if (batch.empty()) continue;
    const std::vector<double> v = eval(ms);
    for (size_t i = 0; i < batch.size(); ++i) {
      const Expansion& x = batch[i];
      const double f10 = v[2 * i], f01 = v[2 * i + 1], w = x.e.weight / 2;
      const auto& ch = tree[static_cast<size_t>(x.e.node - M)];
      q.push(Entry{std::fabs(f10 - x.e.f00) * w, order++, x.e.m00, x.e.f00, f10, ch[0], w});
      q.push(Entry{std::fabs(f01 - x.e.f00) * w, order++, x.e.m00, x.e.f00, f01, ch[1], w});
      q.push(Entry{std::fabs(x.e.f11 - f01) * w, order++, x.m01, f01, x.e.f11, ch[0], w});
      q.push(Entry{std::fabs(x.e.f11 - f10) * w, order++, x.m10, f10, x.e.f11, ch[1], w});
    }
  }
  // A node's credit goes to its features in proportion to their number.
  std::vector<double> credit(static_cast<size_t>(nodes), 0.0);
  credit[static_cast<size_t>(root)] = dvalues[static_cast<size_t>(root)];
  for (int k = M - 2; k >= 0; --k) {
    const int node = M + k;
    const double c = credit[static_cast<size_t>(node)], size = static_cast<double>(leaves[static_cast<size_t>(node)].size());
    for (int ch : tree[static_cast<size_t>(k)])
      credit[static_cast<size_t>(ch)] =
          dvalues[static_cast<size_t>(ch)] + c * static_cast<double>(leaves[static_cast<size_t>(ch)].size()) / size;
  }
  for (int i = 0; i < M; ++i) r.values[static_cast<size_t>(i)] = credit[static_cast<size_t>(i)];
  r.exact = !unexpanded;
  r.evaluations = evals;
  r.samples = evals;
  explain_detail::set_efficiency_gap(r);
  return r;
}

namespace explain_detail {

namespace {

void run(MethodContext& ctx, Explanation& e) {
  const CoalitionGame g = coalition_game(ctx, e);
  const Features& feats = g.feats;
  const int M = g.size();
  std::vector<std::string> texts;
  for (int k = 0; k < M; ++k)
    texts.push_back(feats.by_token ? e.tokens[static_cast<size_t>(feats.tokens[static_cast<size_t>(k)][0])].token
                                   : e.words[static_cast<size_t>(feats.words[static_cast<size_t>(k)][0])].text);
  const ShapleyResult r = partition_shap(g.f, M, text_partition_tree(texts), ctx.opts.integer("max-evals"), g.run);
  set_feature_scores(ctx, e, feats, r.values);
  e.checks.push_back(efficiency_check(r, "0 by construction"));
  e.checks.push_back(flag_check("fully-expanded", r.exact,
                                r.exact ? "every group was expanded: these are the exact Owen values of the hierarchy"
                                        : "the budget ran out: groups left unexpanded share their change among "
                                          "their words"));
  e.checks.push_back(f_empty_check(r));
}

}  // namespace

std::vector<MethodEntry> partition_shap_methods() {
  // Deterministic: no seed.
  return {method_entry("partition-shap",
                       "Partition SHAP (shap's default for text): Owen values over a hierarchy of the words that "
                       "follows the sentence, the budget spent where the output changes most",
                       run,
                       perturbation_options({int_option("max-evals", 500, 2, 1000000,
                                                        "model evaluations at most (besides the text); groups the "
                                                        "budget does not reach share their change among their words")},
                                            false),
                       "efficiency-gap", ScoredBy::word)};
}

}  // namespace explain_detail
}  // namespace wordlight
