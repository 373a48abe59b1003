// evaluation_report_html(): results.json -> one self-contained HTML page
// (inline CSS, SVG plots, no scripts, no external resources), laid out as
// the papers' figures and tables: the ranking first, then one section per
// metric family (report_sections(): the same names as the core's
// metric_families() and results.json's keys).
//
// The report lives outside the core (decided for issue 16): the core
// computes results.json, a shell presents it. The CLI writes report.html
// after a run (write_evaluation_report()). Every number cell carries the
// JSON pointer of the value it shows (data-json='/eraser/aopc_sufficiency/
// lrp'), so tests check the page against results.json by parsing it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "wordlight/error.h"
#include "evaluation_report.h"
#include "wordlight/evaluate.h"
#include "wordlight/explain.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

// Methods whose scores are magnitudes (saliency, smoothgrad-squared): the
// registry says so; the report must not read them as for/against. A run
// names its methods as the registry does ("random" is the baseline).
bool unsigned_method(const std::string& name) {
  for (const MethodInfo& m : explanation_methods())
    if (m.name == name) return !m.signed_scores;
  return false;
}
std::string unsigned_methods_note(const std::vector<std::string>& methods) {
  std::string list;
  for (const std::string& m : methods)
    if (unsigned_method(m)) list += (list.empty() ? "" : ", ") + m;
  if (list.empty()) return "";
  return " <b>Unsigned methods (" + list +
         ") score importance, never against a class: their order for the misclassified documents deletes the "
         "least important words first, not counter-evidence; do not compare them there.</b>";
}

using Json = nlohmann::ordered_json;

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string f(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string val(const Json& v, const char* fmt = "%.3f") {
  if (!v.is_number()) return "&ndash;";
  return f(fmt, v.get<double>());
}

const char* kPalette[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
                          "#bcbd22", "#393b79", "#637939", "#7b4173"};

struct Colors {
  std::map<std::string, std::string> by_method;
  explicit Colors(const std::vector<std::string>& methods) {
    size_t k = 0;
    for (const std::string& m : methods) by_method[m] = m == "random" ? "#7f7f7f" : kPalette[k++ % 12];
    by_method["uniform"] = "#000000";
  }
  std::string operator()(const std::string& m) const {
    auto it = by_method.find(m);
    return it == by_method.end() ? "#000" : it->second;
  }
};

// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double range = hi - lo;
  if (!(range > 0)) return {lo};
  const double raw = range / target, p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = p;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * range; v += step) t.push_back(std::fabs(v) < 1e-12 ? 0 : v);
  return t;
}

std::string tick_label(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return f("%.0f", v);
  return f(std::fabs(v * 10 - std::round(v * 10)) < 1e-9 ? "%.1f" : "%.2f", v);
}

// A line chart: x values, one series per method.
std::string line_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                       const std::vector<double>& xs, const std::vector<std::pair<std::string, std::vector<double>>>& series,
                       const Colors& colors, double ymin, double ymax) {
  const double W = 560, H = 330, L = 58, R = 165, T = 30, B = 46;
  const double pw = W - L - R, ph = H - T - B;
  if (xs.empty()) return "";
  const double x0 = xs.front(), x1 = xs.back() > xs.front() ? xs.back() : xs.front() + 1;
  if (!(ymax > ymin)) ymax = ymin + 1;
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return T + (1 - (y - ymin) / (ymax - ymin)) * ph; };
  std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='" + f("%.0f", W) + "' height='" + f("%.0f", H) +
                  "' viewBox='0 0 " + f("%.0f", W) + " " + f("%.0f", H) + "' class='chart'>";
  s += "<text x='" + f("%.0f", L + pw / 2) + "' y='18' text-anchor='middle' class='ct'>" + esc(title) + "</text>";
  // Grid and ticks.
  for (double y : nice_ticks(ymin, ymax, 5)) {
    s += "<line x1='" + f("%.1f", L) + "' x2='" + f("%.1f", L + pw) + "' y1='" + f("%.1f", Y(y)) + "' y2='" +
         f("%.1f", Y(y)) + "' class='grid'/>";
    s += "<text x='" + f("%.1f", L - 6) + "' y='" + f("%.1f", Y(y) + 4) + "' text-anchor='end' class='tick'>" +
         tick_label(y) + "</text>";
  }
  for (double x : nice_ticks(x0, x1, 6)) {
    s += "<line x1='" + f("%.1f", X(x)) + "' x2='" + f("%.1f", X(x)) + "' y1='" + f("%.1f", T + ph) + "' y2='" +
         f("%.1f", T + ph + 4) + "' stroke='#444'/>";
    s += "<text x='" + f("%.1f", X(x)) + "' y='" + f("%.1f", T + ph + 16) + "' text-anchor='middle' class='tick'>" +
         tick_label(x) + "</text>";
  }
  s += "<rect x='" + f("%.1f", L) + "' y='" + f("%.1f", T) + "' width='" + f("%.1f", pw) + "' height='" + f("%.1f", ph) +
       "' class='frame'/>";
  s += "<text x='" + f("%.1f", L + pw / 2) + "' y='" + f("%.1f", H - 8) + "' text-anchor='middle' class='axis'>" +
       esc(xlabel) + "</text>";
  s += "<text transform='translate(14," + f("%.1f", T + ph / 2) + ") rotate(-90)' text-anchor='middle' class='axis'>" +
       esc(ylabel) + "</text>";
  int li = 0;
  for (const auto& se : series) {
    std::string pts;
    for (size_t i = 0; i < xs.size() && i < se.second.size(); ++i)
      if (std::isfinite(se.second[i])) pts += f("%.1f", X(xs[i])) + "," + f("%.1f", Y(se.second[i])) + " ";
    const std::string c = colors(se.first);
    const bool dashed = se.first == "random" || se.first == "uniform";
    // Earlier series drawn wider, so that a series hidden under a later,
    // identical one still shows as a coloured outline.
    const double width = 2 + 2.5 * static_cast<double>(series.size() - 1 - static_cast<size_t>(li)) /
                                 static_cast<double>(std::max<size_t>(1, series.size() - 1));
    s += "<polyline fill='none' stroke='" + c + "' stroke-width='" + f("%.1f", width) + "' stroke-linejoin='round'" +
         (dashed ? " stroke-dasharray='5,4'" : "") + " points='" + pts + "'/>";
    for (size_t i = 0; i < xs.size() && i < se.second.size(); ++i)
      if (std::isfinite(se.second[i]))
        s += "<circle cx='" + f("%.1f", X(xs[i])) + "' cy='" + f("%.1f", Y(se.second[i])) + "' r='2.5' fill='" + c + "'/>";
    const double ly = T + 10 + li * 18;
    s += "<line x1='" + f("%.1f", L + pw + 10) + "' x2='" + f("%.1f", L + pw + 30) + "' y1='" + f("%.1f", ly) + "' y2='" +
         f("%.1f", ly) + "' stroke='" + c + "' stroke-width='2'" + (dashed ? " stroke-dasharray='5,4'" : "") + "/>";
    s += "<text x='" + f("%.1f", L + pw + 34) + "' y='" + f("%.1f", ly + 4) + "' class='leg'>" + esc(se.first) + "</text>";
    ++li;
  }
  return s + "</svg>";
}

// Horizontal bars, one per method.
std::string bar_chart(const std::string& title, const std::vector<std::pair<std::string, double>>& bars,
                      const Colors& colors, const std::string& note) {
  const double W = 440, L = 165, R = 60, T = 30, bh = 20, gap = 6;
  const double H = T + bars.size() * (bh + gap) + 30;
  double mx = 0, mn = 0;
  for (const auto& b : bars)
    if (std::isfinite(b.second)) {
      mx = std::max(mx, b.second);
      mn = std::min(mn, b.second);
    }
  if (mx - mn <= 0) mx = mn + 1;
  const double pw = W - L - R;
  auto X = [&](double v) { return L + (v - mn) / (mx - mn) * pw; };
  std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='" + f("%.0f", W) + "' height='" + f("%.0f", H) +
                  "' viewBox='0 0 " + f("%.0f", W) + " " + f("%.0f", H) + "' class='chart'>";
  s += "<text x='" + f("%.0f", W / 2) + "' y='18' text-anchor='middle' class='ct'>" + esc(title) + "</text>";
  double y = T;
  for (const auto& b : bars) {
    const double v = std::isfinite(b.second) ? b.second : 0;
    const double xa = X(std::min(0.0, v)), xb = X(std::max(0.0, v));
    s += "<text x='" + f("%.1f", L - 6) + "' y='" + f("%.1f", y + bh * 0.7) + "' text-anchor='end' class='leg'>" +
         esc(b.first) + "</text>";
    s += "<rect x='" + f("%.1f", xa) + "' y='" + f("%.1f", y) + "' width='" + f("%.1f", std::max(1.0, xb - xa)) +
         "' height='" + f("%.1f", bh) + "' fill='" + colors(b.first) + "'/>";
    s += "<text x='" + f("%.1f", xb + 4) + "' y='" + f("%.1f", y + bh * 0.7) + "' class='tick'>" +
         (std::isfinite(b.second) ? f("%.3f", b.second) : std::string("n/a")) + "</text>";
    y += bh + gap;
  }
  s += "<line x1='" + f("%.1f", X(0)) + "' x2='" + f("%.1f", X(0)) + "' y1='" + f("%.1f", T - 4) + "' y2='" +
       f("%.1f", y) + "' stroke='#444'/>";
  s += "<text x='" + f("%.0f", W / 2) + "' y='" + f("%.1f", H - 8) + "' text-anchor='middle' class='axis'>" + esc(note) +
       "</text>";
  return s + "</svg>";
}

// A PCA scatter of one method's document vectors, coloured by class.
std::string scatter(const std::string& title, const Json& pts, int classes) {
  const double W = 300, H = 300, P = 24;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const Json& p : pts) {
    if (!p[0].is_number() || !p[1].is_number()) continue;
    x0 = std::min(x0, p[0].get<double>());
    x1 = std::max(x1, p[0].get<double>());
    y0 = std::min(y0, p[1].get<double>());
    y1 = std::max(y1, p[1].get<double>());
  }
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!(y1 > y0)) y1 = y0 + 1;
  std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='" + f("%.0f", W) + "' height='" + f("%.0f", H) +
                  "' viewBox='0 0 " + f("%.0f", W) + " " + f("%.0f", H) + "' class='chart'>";
  s += "<text x='" + f("%.0f", W / 2) + "' y='15' text-anchor='middle' class='ct'>" + esc(title) + "</text>";
  s += "<rect x='" + f("%.0f", P) + "' y='" + f("%.0f", P) + "' width='" + f("%.0f", W - 2 * P) + "' height='" +
       f("%.0f", H - 2 * P) + "' class='frame'/>";
  // One path per class of zero-length segments with round caps: a dot per
  // document at a tenth of the bytes of a <circle> each.
  std::map<int, std::string> dots;
  for (const Json& p : pts) {
    if (!p[0].is_number() || !p[1].is_number()) continue;
    const double x = P + (p[0].get<double>() - x0) / (x1 - x0) * (W - 2 * P);
    const double y = H - P - (p[1].get<double>() - y0) / (y1 - y0) * (H - 2 * P);
    dots[p[2].get<int>()] += "M" + f("%.0f", x) + " " + f("%.0f", y) + "h0";
  }
  for (const auto& kv : dots) {
    const double hue = classes > 0 ? 360.0 * kv.first / classes : 0;
    s += "<path d='" + kv.second + "' stroke='hsl(" + f("%.0f", hue) +
         ",75%,45%)' stroke-width='4' stroke-linecap='round' stroke-opacity='0.7'/>";
  }
  s += "<text x='" + f("%.0f", W / 2) + "' y='" + f("%.0f", H - 6) + "' text-anchor='middle' class='tick'>PC 1</text>";
  return s + "</svg>";
}

std::string deletion_words(const std::string& mode) {
  if (mode == "zero") return "its word embedding set to zero (as Arras et al.)";
  if (mode == "remove") return "its tokens removed from the text";
  if (mode == "mask") return "its tokens replaced by [MASK]";
  if (mode == "unk") return "its tokens replaced by the unknown-word token";
  return esc(mode);
}

std::vector<double> dvec(const Json& a) {
  std::vector<double> v;
  if (!a.is_array()) return v;
  for (const Json& x : a) v.push_back(x.is_number() ? x.get<double>() : std::nan(""));
  return v;
}

// The JSON pointer of /a/b/c (each part escaped as RFC 6901 says).
std::string pointer(std::initializer_list<std::string> parts) {
  std::string p;
  for (const std::string& part : parts) {
    p += '/';
    for (char c : part) {
      if (c == '~')
        p += "~0";
      else if (c == '/')
        p += "~1";
      else
        p += c;
    }
  }
  return p;
}
// A table cell showing the number at `path` of the results (or a dash),
// tagged with that path for the tests. bold: <b> around it.
std::string cell(const Json& root, const std::string& path, const char* fmt = "%.3f", const std::string& cls = "",
                 bool bold = false, const std::string& after = "") {
  const Json::json_pointer ptr(path);
  const Json v = root.contains(ptr) ? root.at(ptr) : Json();
  std::string shown = val(v, fmt);
  if (bold) shown = "<b>" + shown + "</b>";
  return "<td" + (cls.empty() ? std::string() : " class='" + cls + "'") + " data-json='" + esc(path) + "'>" + shown +
         after + "</td>";
}
double number_at(const Json& root, const std::string& path) {
  const Json::json_pointer ptr(path);
  return root.contains(ptr) && root.at(ptr).is_number() ? root.at(ptr).get<double>() : std::nan("");
}

// What every section renderer sees.
struct Page {
  Json& j;  // not const: a missing member reads as null, as in the sections' j["a"]["b"]
  const std::vector<std::string>& methods;
  const std::vector<std::string>& labels;
  const Colors& colors;
  int number = 1;  // the next section's number
  std::string heading(const char* id, const std::string& title) {
    return "<h2 id='" + std::string(id) + "'>" + std::to_string(++number) + ". " + title + "</h2>";
  }
};

}  // namespace

namespace {

// ------------------------------------------------------------ the sections, one per metric family

void deletion_section(Page& pg, std::string& h) {
  Json& j = pg.j;
  Json& d = j["deletion"];
  const std::vector<double> xs = dvec(d["steps"]);
  h += pg.heading("deletion", "Word deletion (Arras et al. 2016, 2017)") +
       "<p class='note'>Relevance for the true class. Left: the " + std::to_string(d["correct"].value("n", 0)) +
       " initially correctly classified documents, words deleted in decreasing order of relevance: the faster the "
       "accuracy falls, the better the method found the evidence. Right: the " +
       std::to_string(d["misclassified"].value("n", 0)) +
       " initially misclassified documents, words deleted in increasing order (most negative for the true class "
       "first): the faster the accuracy rises, the better. Dashed grey: random deletion. Deleting a word: " +
       deletion_words(j.value("deletion_mode", "")) + "." + unsigned_methods_note(pg.methods) + "</p><div class='row'>";
  for (const char* part : {"correct", "misclassified"}) {
    std::vector<std::pair<std::string, std::vector<double>>> series;
    double lo = 1, hi = 0;
    for (const std::string& m : pg.methods) {
      std::vector<double> ys = dvec(d[part]["accuracy"][m]);
      for (double y : ys)
        if (std::isfinite(y)) {
          lo = std::min(lo, y);
          hi = std::max(hi, y);
        }
      series.emplace_back(m, ys);
    }
    if (d[part].value("n", 0) == 0) continue;
    lo = std::max(0.0, std::floor(lo * 10) / 10);
    hi = std::min(1.0, std::ceil(hi * 10) / 10);
    h += line_chart(std::string(part) == "correct" ? "initially correct: accuracy falls" : "initially false: accuracy rises",
                    "number of deleted words", "accuracy", xs, series, pg.colors, lo, hi > lo ? hi : lo + 0.1);
  }
  h += "</div><table><thead><tr><th>accuracy after deleting k words</th>";
  std::vector<size_t> show;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double k = xs[i];
    if (k == 0 || k == 1 || k == 2 || k == 3 || k == 5 || k == 10 || k == 20 || k == 30 || k == 50) show.push_back(i);
  }
  for (size_t i : show) h += "<th>k=" + f("%.0f", xs[i]) + "</th>";
  h += "</tr></thead><tbody>";
  for (const char* part : {"correct", "misclassified"}) {
    if (d[part].value("n", 0) == 0) continue;
    for (const std::string& m : pg.methods) {
      h += "<tr><td>" + std::string(part) + " &middot; " + esc(m) + "</td>";
      for (size_t i : show) h += cell(j, pointer({"deletion", part, "accuracy", m, std::to_string(i)}));
      h += "</tr>";
    }
  }
  h += "</tbody></table>";
}

void eraser_section(Page& pg, std::string& h) {
  Json& j = pg.j;
  Json& e = j["eraser"];
  h += pg.heading("eraser", "ERASER faithfulness (DeYoung et al. 2020)") +
       "<p class='note'>Comprehensiveness: the drop of the "
       "predicted class's probability when the top k% words are deleted (higher: the explanation found what the "
       "model needs). Sufficiency: the drop when only the top k% are kept (lower: they suffice). AOPC: the mean over "
       "k in {1, 5, 10, 20, 50}.</p><div class='row'>";
  std::vector<std::pair<std::string, double>> bc, bs;
  for (const std::string& m : pg.methods) {
    bc.emplace_back(m, number_at(j, pointer({"eraser", "aopc_comprehensiveness", m})));
    bs.emplace_back(m, number_at(j, pointer({"eraser", "aopc_sufficiency", m})));
  }
  h += bar_chart("comprehensiveness AOPC", bc, pg.colors, "higher is better");
  h += bar_chart("sufficiency AOPC", bs, pg.colors, "lower is better");
  h += "</div><table><thead><tr><th>method</th>";
  const std::vector<double> pcs = dvec(e["percents"]);
  for (double p : pcs) h += "<th>comp " + f("%.0f", p) + "%</th>";
  h += "<th>AOPC comp</th>";
  for (double p : pcs) h += "<th>suff " + f("%.0f", p) + "%</th>";
  h += "<th>AOPC suff</th></tr></thead><tbody>";
  for (const std::string& m : pg.methods) {
    h += "<tr><td>" + esc(m) + "</td>";
    for (size_t i = 0; i < pcs.size(); ++i) h += cell(j, pointer({"eraser", "comprehensiveness", m, std::to_string(i)}));
    h += cell(j, pointer({"eraser", "aopc_comprehensiveness", m}), "%.3f", "", true);
    for (size_t i = 0; i < pcs.size(); ++i) h += cell(j, pointer({"eraser", "sufficiency", m, std::to_string(i)}));
    h += cell(j, pointer({"eraser", "aopc_sufficiency", m}), "%.3f", "", true) + "</tr>";
  }
  h += "</tbody></table>";
}

void plausibility_section(Page& pg, std::string& h) {
  Json& j = pg.j;
  Json& p = j["plausibility"];
  h += pg.heading("plausibility", "Plausibility: agreement with human rationales");
  if (p.value("n", 0) == 0) {
    h += "<p class='note'>" + esc(p.value("note", "no rationales")) + ".</p>";
    return;
  }
  h += "<p class='note'>" + std::to_string(p.value("n", 0)) + " documents with rationales; hard rationale = the top " +
       std::to_string(p.value("k", 0)) +
       " words (the mean human rationale length). Token P/R/F1 per document, averaged; IoU F1 counts a predicted "
       "run of words as found when its IoU with a human span is at least 0.5 (DeYoung et al. 2020); AUPRC of the "
       "soft scores (ERASER) and MAP (Atanasova et al. 2020).</p><table><thead><tr><th>method</th><th>token P</th>"
       "<th>token R</th><th>token F1</th><th>IoU F1</th><th>AUPRC</th><th>MAP</th></tr></thead><tbody>";
  for (const std::string& m : pg.methods) {
    h += "<tr><td>" + esc(m) + "</td>";
    for (const char* k : {"token_precision", "token_recall", "token_f1", "iou_f1", "auprc", "map"})
      h += cell(j, pointer({"plausibility", k, m}));
    h += "</tr>";
  }
  h += "</tbody></table>";
}

// A table of one number per method (and maybe a second column).
void per_method_table(Page& pg, std::string& h, const std::vector<std::pair<std::string, std::string>>& columns,
                      const char* family, const char* fmt, const std::string& caption) {
  h += "<table><thead><tr><th>method</th>";
  for (const auto& c : columns) h += "<th>" + c.second + "</th>";
  h += "</tr></thead><tbody>";
  for (const std::string& m : pg.methods) {
    bool any = false;
    for (const auto& c : columns) any = any || pg.j[family][c.first].contains(m);
    if (!any) continue;  // "random" has no time
    h += "<tr><td>" + esc(m) + "</td>";
    for (const auto& c : columns) h += cell(pg.j, pointer({family, c.first, m}), c.first == "evaluations_per_explanation" ? "%.0f" : fmt);
    h += "</tr>";
  }
  h += "</tbody>" + (caption.empty() ? std::string() : "<caption>" + caption + "</caption>") + "</table>";
}

void faithfulness_section(Page& pg, std::string& h) {
  Json& j = pg.j;
  h += pg.heading("faithfulness", "Faithfulness: the masking curve (Atanasova et al. 2020)") +
       "<p class='note'>Macro-F1 against the gold labels with the most salient 0, 10, ..., 100% of the words masked; "
       "the area under the curve (lower: the explanation found what the model uses).</p><div class='row'>";
  std::vector<std::pair<std::string, std::vector<double>>> series;
  for (const std::string& m : pg.methods) series.emplace_back(m, dvec(j["faithfulness"]["macro_f1"][m]));
  h += line_chart("masking the most salient words", "% of words masked (most salient first)", "macro-F1",
                  dvec(j["faithfulness"]["percents"]), series, pg.colors, 0, 1);
  h += "</div>";
  per_method_table(pg, h, {{"auc", "faithfulness AUC &darr;"}}, "faithfulness", "%.3f", "");
}

void confidence_section(Page& pg, std::string& h) {
  h += pg.heading("confidence", "Confidence indication (Atanasova et al. 2020)") +
       "<p class='note'>A linear regression from the distance between the saliency of the predicted class and of the "
       "other classes to the predicted probability: its 5-fold cross-validated mean absolute error (lower is better). "
       "With no feature (predicting the mean): <span data-json='/confidence/mae_without_saliency'>" +
       val(pg.j["confidence"]["mae_without_saliency"]) + "</span>.</p>";
  per_method_table(pg, h, {{"mae", "confidence MAE &darr;"}}, "confidence", "%.3f", "");
}

void consistency_section(Page& pg, std::string& h) {
  Json& c = pg.j["consistency"];
  h += pg.heading("consistency", "Consistency (Atanasova et al. 2020)") +
       "<p class='note'>Dataset consistency: Spearman's rho between activation distance (output layer) and "
       "explanation distance over " + std::to_string(c.value("pairs", 0)) + " pairs of similar documents. " +
       (c["rationale"].is_null() ? "Rationale consistency: " + esc(c.value("rationale_note", "")) + "."
                                 : std::string("Rationale consistency: the same across two models.")) +
       " Higher is more consistent.</p>";
  std::vector<std::pair<std::string, std::string>> cols = {{"dataset", "dataset consistency &uarr;"}};
  if (!c["rationale"].is_null()) cols.push_back({"rationale", "rationale consistency &uarr;"});
  per_method_table(pg, h, cols, "consistency", "%.3f", "");
}

void time_section(Page& pg, std::string& h) {
  h += pg.heading("time", "Cost") + "<p class='note'>Mean seconds and model evaluations per explanation.</p>";
  per_method_table(pg, h,
                   {{"seconds_per_explanation", "seconds / explanation"},
                    {"evaluations_per_explanation", "model evaluations"}},
                   "time", "%.4f", "");
}

void docvectors_section(Page& pg, std::string& h) {
  Json& j = pg.j;
  Json& dv = j["docvectors"];
  h += pg.heading("docvectors", "Document vectors (Arras et al. 2017)") +
       "<p class='note'>Each document as the relevance-weighted sum "
       "of its word embeddings (uniform: the plain sum), unit length. Leave-one-out kNN accuracy against the gold "
       "classes over " + std::to_string(dv.value("n", 0)) +
       " documents: the higher, the more the relevances capture what the classes are about (the explanatory power "
       "index is the best over k).</p><table><thead><tr><th>weighting</th>";
  for (const Json& k : dv["ks"]) h += "<th>k=" + std::to_string(k.get<int>()) + "</th>";
  h += "<th>best (EPI)</th></tr></thead><tbody>";
  std::vector<std::string> kinds = pg.methods;
  kinds.push_back("uniform");
  for (const std::string& m : kinds) {
    h += "<tr><td>" + esc(m) + "</td>";
    for (size_t i = 0; i < dv["knn_accuracy"][m].size(); ++i)
      h += cell(j, pointer({"docvectors", "knn_accuracy", m, std::to_string(i)}));
    h += cell(j, pointer({"docvectors", "explanatory_power", m}), "%.3f", "", true) + "</tr>";
  }
  h += "</tbody></table><div class='row'>";
  for (const std::string& m : kinds)
    if (dv["pca"].contains(m)) h += scatter("PCA: " + m, dv["pca"][m], static_cast<int>(pg.labels.size()));
  h += "</div><p class='note'>Colours: ";
  for (size_t c = 0; c < pg.labels.size(); ++c)
    h += "<span class='sw' style='background:hsl(" +
         f("%.0f", 360.0 * static_cast<double>(c) / static_cast<double>(pg.labels.size())) + ",75%,45%)'></span>" +
         esc(pg.labels[c]) + " &nbsp;";
  h += "</p>";
}

void topwords_section(Page& pg, std::string& h) {
  h += pg.heading("topwords", "The most relevant words per class") +
       "<p class='note'>Summed relevance over the correctly classified "
       "documents of each class (the word's count in brackets).</p>";
  for (const auto& mk : pg.j["topwords"].items()) {
    h += "<h3>" + esc(mk.key()) +
         (unsigned_method(mk.key()) ? " <small>(importance: unsigned, neither for nor against the class)</small>" : "") +
         "</h3><table class='tw'><thead><tr><th>class</th><th>top words</th></tr></thead><tbody>";
    for (const auto& ck : mk.value().items()) {
      h += "<tr><td>" + esc(ck.key()) + "</td><td>";
      int i = 0;
      for (const Json& w : ck.value()) {
        h += (i++ ? ", " : "") + esc(w[0].get<std::string>()) + " <span class='rk'>(" + std::to_string(w[2].get<int>()) + ")</span>";
      }
      h += "</td></tr>";
    }
    h += "</tbody></table>";
  }
}

// The report's half of the metric table: one section per family, by the
// core's names (metric_families() in core/src/evaluate/families/table.cpp).
struct ReportSection {
  const char* family;
  void (*render)(Page&, std::string&);
};
const std::vector<ReportSection>& report_sections() {
  static const std::vector<ReportSection> t = {
      {"deletion", deletion_section},       {"eraser", eraser_section},           {"plausibility", plausibility_section},
      {"faithfulness", faithfulness_section}, {"confidence", confidence_section}, {"consistency", consistency_section},
      {"time", time_section},               {"docvectors", docvectors_section},   {"topwords", topwords_section}};
  return t;
}

}  // namespace

std::vector<std::string> evaluation_report_sections() {
  std::vector<std::string> v;
  for (const ReportSection& s : report_sections()) v.push_back(s.family);
  return v;
}

void write_evaluation_report(const std::string& out_dir, const std::string& results_json) {
  const std::string path = out_dir + "/report.html";
  const std::string html = evaluation_report_html(results_json);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(html.data(), static_cast<std::streamsize>(html.size())) || !out.flush())
    throw Error(path + ": cannot write the report");
}

std::string evaluation_report_html(const std::string& results_json) {
  Json j;
  check_json_depth(results_json, "evaluation report: results");
  try {
    j = Json::parse(results_json);
  } catch (const Json::exception& e) {
    throw Error(std::string("evaluation report: results are not valid JSON (") + e.what() + ")");
  }
  std::vector<std::string> methods = j.value("methods", std::vector<std::string>{});
  const Colors colors(methods);
  const std::vector<std::string> labels = j.value("label_names", std::vector<std::string>{});
  std::string h;
  h += "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>wordlight evaluation: " +
       esc(j.value("model", "")) + "</title><style>"
       "body{font:14px/1.45 Georgia,'Times New Roman',serif;color:#222;max-width:1150px;margin:24px auto;padding:0 18px}"
       "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid #999;margin-top:30px}"
       "h3{font-size:15px;margin:18px 0 6px}.meta{color:#555;font-size:13px}code{font-size:12px;background:#f4f4f4;padding:1px 3px}"
       "table{border-collapse:collapse;margin:8px 0 6px;font-size:13px}caption{caption-side:bottom;text-align:left;color:#555;"
       "font-size:12px;padding-top:4px;max-width:1000px}"
       "th,td{padding:3px 9px;text-align:right;white-space:nowrap}td:first-child{white-space:normal}.mr td{border-top:1px solid #bbb}th{border-bottom:1px solid #222}td:first-child,th:first-child{text-align:left}"
       "thead tr:first-child th{border-top:2px solid #222}tbody tr:last-child td{border-bottom:2px solid #222}"
       ".best{font-weight:bold}.rk{color:#888;font-size:11px}.row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}"
       ".chart{background:#fff}.ct{font:bold 13px Georgia,serif}.tick{font:11px sans-serif;fill:#444}"
       ".axis{font:12px Georgia,serif}.leg{font:12px sans-serif}.grid{stroke:#e5e5e5}.frame{fill:none;stroke:#444}"
       ".sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}"
       ".tw td,.tw th{text-align:left;font-size:12px}.note{color:#555;font-size:12px;max-width:1000px}"
       "</style></head><body>";
  h += "<h1>Which explanation should I believe for <code>" + esc(j.value("model", "")) + "</code>?</h1>";
  h += "<p class='meta'>data <code>" + esc(j.value("data", "")) + "</code> &middot; " +
       std::to_string(j.value("n", 0)) + " documents evaluated";
  if (j.value("dataset_size", 0) > j.value("n", 0)) h += " (of " + std::to_string(j.value("dataset_size", 0)) + ")";
  if (j.value("left_out", 0) > 0) h += ", " + std::to_string(j.value("left_out", 0)) + " left out (no token)";
  h += " &middot; model accuracy " + val(j["accuracy"], "%.4f") + " &middot; mean " + val(j["mean_words"], "%.1f") +
       " words per document &middot; deletion = <b>" + esc(j.value("deletion_mode", "")) + "</b></p>";
  if (!j.value("command", "").empty()) h += "<p class='meta'>command: <code>" + esc(j.value("command", "")) + "</code></p>";
  h += "<p class='meta'>methods: ";
  for (const std::string& m : methods) {
    h += "<span class='sw' style='background:" + colors(m) + "'></span>" + esc(m);
    if (j.contains("method_options") && j["method_options"].contains(m) && !j["method_options"][m].empty()) {
      std::string o;
      for (const auto& kv : j["method_options"][m].items()) o += (o.empty() ? "" : ",") + kv.key() + "=" + kv.value().get<std::string>();
      h += " <code>" + esc(o) + "</code>";
    }
    h += " &nbsp; ";
  }
  h += "</p>";

  // ---- the answer in one line: the best mean rank per group
  if (j.contains("mean_rank")) {
    std::string verdict;
    for (const char* g : {"faithfulness", "plausibility", "diagnostic"}) {
      if (!j["mean_rank"].contains(g)) continue;
      double br = 1e300;
      for (const auto& kv : j["mean_rank"][g].items())
        if (kv.value().is_number() && kv.key() != "random") br = std::min(br, kv.value().get<double>());
      // Every method at the best mean rank (ties are common: LRP-epsilon and
      // gradient x input coincide on ReLU networks), in the order of --methods.
      std::string best;
      int tied = 0;
      for (const std::string& m : methods)
        if (m != "random" && j["mean_rank"][g].contains(m) && j["mean_rank"][g][m].is_number() &&
            std::fabs(j["mean_rank"][g][m].get<double>() - br) < 1e-9) {
          best += std::string(tied++ ? " and " : "") + m;
        }
      if (best.empty()) continue;
      if (tied > 1) best += " (tied)";
      int n = 0;
      for (const Json& r : j["ranking"]) n += r.value("group", "") == g;
      const std::string what = std::string(g) == "faithfulness"   ? "most faithful to the model"
                                : std::string(g) == "plausibility" ? "most plausible to people"
                                                                   : "best on the other diagnostics";
      verdict += std::string(verdict.empty() ? "" : "; ") + what +
                 ": <b>" + esc(best) + "</b> (mean rank " + f("%.2f", br) + " over " + std::to_string(n) + " metric" +
                 (n == 1 ? "" : "s") + ")";
    }
    if (!verdict.empty()) h += "<p style='font-size:15px;background:#f3f6fa;padding:8px 12px;border-left:4px solid #1f77b4'>" + verdict + ".</p>";
  }

  // ---- ranking
  if (j.contains("ranking") && !j["ranking"].empty()) {
    h += "<h2 id='ranking'>1. Ranking of the methods</h2><table><thead><tr><th>metric</th><th></th>";
    for (const std::string& m : methods) h += "<th><span class='sw' style='background:" + colors(m) + "'></span>" + esc(m) + "</th>";
    h += "</tr></thead><tbody>";
    const std::vector<std::pair<std::string, std::string>> groups = {
        {"faithfulness", "Faithfulness to the model"},
        {"plausibility", "Plausibility (agreement with people)"},
        {"diagnostic", "Other diagnostic properties"},
        {"cost", "Cost"}};
    for (const auto& g : groups) {
      bool any = false;
      for (const Json& r : j["ranking"]) any = any || r.value("group", "") == g.first;
      if (!any) continue;
      h += "<tr><td colspan='" + std::to_string(methods.size() + 2) + "' style='text-align:left;padding-top:8px'><i>" +
           esc(g.second) + "</i></td></tr>";
      for (size_t ri = 0; ri < j["ranking"].size(); ++ri) {
        const Json& r = j["ranking"][ri];
        if (r.value("group", "") != g.first) continue;
        h += "<tr><td>" + esc(r.value("metric", "")) + "</td><td class='rk'>" +
             (r.value("better", "") == "higher" ? "&uarr; higher" : "&darr; lower") + "</td>";
        for (const std::string& m : methods) {
          const bool have = r["values"].contains(m);
          const bool best = r["rank"].contains(m) && r["rank"][m].get<double>() == 1.0;
          const std::string rank =
              r["rank"].contains(m) ? " <span class='rk'>(" + val(r["rank"][m], "%g") + ")</span>" : "";
          if (have)
            h += cell(j, pointer({"ranking", std::to_string(ri), "values", m}), g.first == "cost" ? "%.4f" : "%.3f",
                      best ? "best" : "", false, rank);
          else
            h += "<td>&ndash;" + rank + "</td>";
        }
        h += "</tr>";
      }
      if (j.contains("mean_rank") && j["mean_rank"].contains(g.first)) {
        const Json& per = j["mean_rank"][g.first];
        h += "<tr class='mr'><td><b>mean rank</b></td><td class='rk'>&darr; lower</td>";
        double best = 1e300;
        for (const std::string& m : methods)
          if (per.contains(m) && per[m].is_number()) best = std::min(best, per[m].get<double>());
        for (const std::string& m : methods) {
          const bool b = per.contains(m) && per[m].is_number() && per[m].get<double>() == best;
          h += per.contains(m) ? cell(j, pointer({"mean_rank", g.first, m}), "%.2f", b ? "best" : "") : "<td>&ndash;</td>";
        }
        h += "</tr>";
      }
    }
    h += "</tbody><caption>Each metric's value per method, its rank in brackets (1 = best, bold). The faithfulness group "
         "(word deletion, ERASER AOPC, Atanasova et al.'s masking curve) says which method finds what the model uses; "
         "plausibility says which agrees with people. \"random\" is the control: a method should beat it.</caption></table>";
  }

  // ---- one section per metric family in the results
  Page pg{j, methods, labels, colors};
  for (const ReportSection& s : report_sections())
    if (j.contains(s.family) && j[s.family].is_object()) s.render(pg, h);
  h += "<p class='meta'>Written by <code>wordlight evaluate</code>. Metric definitions: "
       "core/src/evaluate/families/ (one file per metric family).</p></body></html>\n";
  return h;
}

}  // namespace wordlight
